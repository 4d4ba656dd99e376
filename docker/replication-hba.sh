#!/bin/sh
# Run once by the postgres image when it creates the database (docker-entrypoint-initdb.d):
# lets the optional standby (compose profile "standby") copy and follow the primary, with a
# password, over the compose network. An existing volume needs this line added by hand.
echo "host replication all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
