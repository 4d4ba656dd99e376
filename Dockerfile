# Builds the three iCash binaries into a slim runtime image that runs as a non-root user.
FROM rust:1-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p store-core -p pos-tui -p owner-tui

FROM debian:bookworm-slim
RUN useradd --system --create-home --home-dir /home/icash icash
COPY --from=build /src/target/release/store-core /src/target/release/pos-tui /src/target/release/owner-tui /usr/local/bin/
COPY --from=build /src/data /app/data
WORKDIR /app
USER icash
ENV ICASH_HOME=/home/icash/.local/share/icash
# store-core serve (compose: --listen 0.0.0.0:8001).
EXPOSE 8001
CMD ["store-core", "--help"]
