#!/bin/sh
# The compose stack's private CA and the server certificates of Kafka and Postgres, run by the
# one-shot `tls-setup` service (compose.yaml) before either server starts. Each output goes to its
# own volume, so every container sees only what it needs:
#   /tls/ca        (volume tls-ca)        ca.key, ca.pem: the CA, mounted nowhere else
#   /tls/public    (volume certs)         ca.pem: what clients trust; the services mount it at /certs
#   /tls/kafka     (volume kafka-tls)     kafka.pem: the broker's PEM keystore (PKCS#8 key, then the
#                                         certificate chain), owned by the apache/kafka image's
#                                         appuser (uid 1000), mode 0400
#   /tls/postgres  (volume postgres-tls)  server.crt, and server.key owned by the postgres image's
#                                         postgres user (uid 999) with mode 0600, as Postgres requires
# Idempotent: it runs at every `docker compose up` and makes only what is missing. A server
# certificate is issued again when it is missing, no longer verifies against the CA, or expires
# within 30 days (then restart kafka and postgres, which read their certificate at start only).
# The CA lasts 10 years; removing the tls-ca volume makes a new CA and new server certificates
# (then recreate everything, since the clients' ca.pem changes too).
# Keys are EC P-256; certificates carry the host name the clients check (DNS:kafka, DNS:postgres),
# since both the services (HPF_KAFKA_VERIFY_HOSTNAME, HPF_PG_TLS=verify-full) and the Java tools
# verify the host name, against the subject alternative name only. Kafka's also names
# DNS:localhost and IP:127.0.0.1, for its EXTERNAL listener, which clients on the Docker host reach
# as localhost:19092 (kafka.properties); a certificate made before it did is issued again.
set -eu
umask 077

TLS_ROOT=${TLS_ROOT:-/tls}
CA_DIR=$TLS_ROOT/ca
PUBLIC_DIR=$TLS_ROOT/public
KAFKA_DIR=$TLS_ROOT/kafka
POSTGRES_DIR=$TLS_ROOT/postgres
# The users the servers run as in their images (apache/kafka: appuser; postgres: postgres).
KAFKA_UID=${KAFKA_UID:-1000}
POSTGRES_UID=${POSTGRES_UID:-999}
RENEW_BEFORE_SECONDS=2592000
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$CA_DIR" "$PUBLIC_DIR" "$KAFKA_DIR" "$POSTGRES_DIR"
chmod 0700 "$CA_DIR"
chmod 0755 "$PUBLIC_DIR" "$KAFKA_DIR" "$POSTGRES_DIR"

# place SOURCE TARGET UID MODE: copies SOURCE beside TARGET with its owner and mode, then renames
# it over TARGET, so a reader never sees a half-written file or one with the wrong owner.
place() {
  cp "$1" "$2.new"
  chown "$3:$3" "$2.new"
  chmod "$4" "$2.new"
  mv -f "$2.new" "$2"
}

if [ ! -s "$CA_DIR/ca.key" ] || [ ! -s "$CA_DIR/ca.pem" ]; then
  echo "tls-setup: making a new CA"
  cat > "$WORK/ca.cnf" <<'EOF'
[req]
prompt = no
distinguished_name = dn
x509_extensions = ca
[dn]
CN = HPF compose CA
[ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EOF
  openssl req -x509 -new -config "$WORK/ca.cnf" -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$WORK/ca.key" -out "$WORK/ca.pem" -days 3650
  place "$WORK/ca.key" "$CA_DIR/ca.key" 0 0400
  place "$WORK/ca.pem" "$CA_DIR/ca.pem" 0 0644
fi
# What every client trusts (world-readable: the services run as uid 10001).
place "$CA_DIR/ca.pem" "$PUBLIC_DIR/ca.pem" 0 0644

# needs_certificate FILE SANS: true when FILE is missing, expires soon, is not signed by the
# current CA or does not name every subject alternative name of SANS (as issue writes them).
needs_certificate() {
  [ -s "$1" ] || return 0
  openssl x509 -in "$1" -noout -checkend "$RENEW_BEFORE_SECONDS" >/dev/null 2>&1 || return 0
  openssl verify -CAfile "$CA_DIR/ca.pem" "$1" >/dev/null 2>&1 || return 0
  names=$(openssl x509 -in "$1" -noout -ext subjectAltName 2>/dev/null | tr -d ' ') || return 0
  for san in $(echo "$2" | tr ',' ' '); do
    # openssl prints IP:127.0.0.1 as "IPAddress:127.0.0.1".
    case ",$(echo "$names" | tr '\n' ',' | sed 's/IPAddress:/IP:/g')," in
      *",$san,"*) ;;
      *) return 0 ;;
    esac
  done
  return 1
}

# issue HOST SANS: a server key ($WORK/HOST.key, PKCS#8) and certificate ($WORK/HOST.crt) for
# HOST, naming SANS (comma-separated, e.g. DNS:kafka,DNS:localhost).
issue() {
  cat > "$WORK/$1.cnf" <<EOF
[req]
prompt = no
distinguished_name = dn
[dn]
CN = $1
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = $2
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
  openssl req -new -config "$WORK/$1.cnf" -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$WORK/$1.raw.key" -out "$WORK/$1.csr"
  # Kafka's PEM keystore reads unencrypted PKCS#8 only ("BEGIN PRIVATE KEY"): make sure of it.
  openssl pkcs8 -topk8 -nocrypt -in "$WORK/$1.raw.key" -out "$WORK/$1.key"
  openssl x509 -req -in "$WORK/$1.csr" -CA "$CA_DIR/ca.pem" -CAkey "$CA_DIR/ca.key" \
    -CAcreateserial -CAserial "$CA_DIR/ca.srl" -days 397 \
    -extfile "$WORK/$1.cnf" -extensions server -out "$WORK/$1.crt"
  openssl verify -CAfile "$CA_DIR/ca.pem" "$WORK/$1.crt" >/dev/null
}

# Kafka: one PEM file with the key and the chain (ssl.keystore.type=PEM in kafka.properties, no
# keystore password; the file is readable by the broker's user only).
KAFKA_SANS=DNS:kafka,DNS:localhost,IP:127.0.0.1
if needs_certificate "$KAFKA_DIR/kafka.pem" "$KAFKA_SANS"; then
  echo "tls-setup: issuing the certificate of kafka"
  issue kafka "$KAFKA_SANS"
  cat "$WORK/kafka.key" "$WORK/kafka.crt" "$CA_DIR/ca.pem" > "$WORK/kafka.pem"
  place "$WORK/kafka.pem" "$KAFKA_DIR/kafka.pem" "$KAFKA_UID" 0400
fi

# Postgres: ssl_cert_file and ssl_key_file; the key must belong to the server's user with mode
# 0600 (or to root with 0640), or Postgres refuses to start.
POSTGRES_SANS=DNS:postgres
if needs_certificate "$POSTGRES_DIR/server.crt" "$POSTGRES_SANS" || [ ! -s "$POSTGRES_DIR/server.key" ]; then
  echo "tls-setup: issuing the certificate of postgres"
  issue postgres "$POSTGRES_SANS"
  place "$WORK/postgres.key" "$POSTGRES_DIR/server.key" "$POSTGRES_UID" 0600
  place "$WORK/postgres.crt" "$POSTGRES_DIR/server.crt" 0 0644
fi
echo "tls-setup: done (clients trust $PUBLIC_DIR/ca.pem)"
