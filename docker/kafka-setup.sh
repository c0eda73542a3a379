#!/bin/bash
# The broker's users and ACLs, run in the apache/kafka image by two one-shot services of compose.yaml:
#
#   kafka-setup.sh format   (service kafka-format, before the broker starts) formats the empty data
#       volume with kafka.properties and, in the same step, the SCRAM-SHA-512 credential of `admin`
#       (kafka-storage format --add-scram). In KRaft, SCRAM users live in the metadata log, so the
#       first one can only be made at format time: there is no user yet to sign in as. A volume
#       already formatted is left alone (--ignore-formatted), admin's password included.
#
#   kafka-setup.sh grant    (service kafka-setup, once the broker is healthy; the services wait for it
#       to finish) signs in over the SASL_SSL listener as admin, checking the broker's certificate
#       against /certs/ca.pem, and then
#         - creates or updates the SCRAM-SHA-512 user of each service and of the payment-channel
#           adapter, which here also stands in for the bank's adapter (kafka-configs --alter
#           --add-config, an upsert: a changed password takes effect at the next `docker compose
#           up`), and the optional example users analytics and partner-city when their password is
#           given;
#         - adds their ACLs (kafka-acls --add; adding an ACL that exists changes nothing).
#       Users and ACLs dropped from this file are not removed from the broker: list them with
#       kafka-acls.sh --list and remove them with kafka-acls.sh --remove (see compose.yaml).
#
# Passwords come from the environment, never from a file in the repository. They are used inside
# kafka-configs' and JAAS's own syntax, so each must be 16 or more characters out of letters,
# digits and + / = . _ ~ - (`openssl rand -base64 24` makes one).
set -euo pipefail

BIN=/opt/kafka/bin
BOOTSTRAP=kafka:9092

password_ok() { # password_ok VARIABLE: the variable is set and usable as a SCRAM password
  local value=${!1-}
  if [ -z "$value" ]; then
    echo "kafka-setup: $1 is not set" >&2
    return 1
  fi
  if ! [[ $value =~ ^[A-Za-z0-9+/=._~-]{16,}$ ]]; then
    echo "kafka-setup: $1 must be at least 16 characters of A-Z a-z 0-9 + / = . _ ~ - (e.g. openssl rand -base64 24)" >&2
    return 1
  fi
}

format() {
  password_ok HPF_KAFKA_ADMIN_PASSWORD
  : "${CLUSTER_ID:?kafka-setup: CLUSTER_ID is not set}"
  "$BIN/kafka-storage.sh" format --ignore-formatted --cluster-id "$CLUSTER_ID" \
    --config /mnt/shared/config/server.properties \
    --add-scram "SCRAM-SHA-512=[name=admin,password=$HPF_KAFKA_ADMIN_PASSWORD]"
}

# The topics, as Shared/Contracts/Topics.swift names them.
ENROLMENT_EVENTS=hpf.enrolment.events.v1
CONTRIBUTION_EVENTS=hpf.contribution.events.v1
SUBSIDY_EVENTS=hpf.subsidy.events.v1
WITHDRAWAL_EVENTS=hpf.withdrawal.events.v1
PAYOUT_INSTRUCTIONS=hpf.withdrawal.payout-instructions.v1
LOAN_EVENTS=hpf.loan.events.v1
REGIONAL_EVENTS=hpf.regional.events.v1
# Channel-only, like the payout instructions: transfers out for the bank to pay (Topic.transferPayoutInstructions).
TRANSFER_PAYOUT_INSTRUCTIONS=hpf.regional.transfer-payout-instructions.v1
# One outbound partner topic per partner city: $PARTNER_OUTBOUND_PREFIX<city code>.v1
# (Topic.partnerOutbound(city:)). The shared hpf.regional.partner-outbound.v1 of earlier versions
# is no longer written or created.
PARTNER_OUTBOUND_PREFIX=hpf.regional.partner-outbound.
PARTNER_INBOUND=hpf.regional.partner-inbound.v1
DEAD_LETTER=hpf.deadletter.v1

ADMIN_CONFIG=
admin_config() { # the admin client's settings, in a file only this process can read
  ADMIN_CONFIG=$(mktemp)
  chmod 0600 "$ADMIN_CONFIG"
  cat > "$ADMIN_CONFIG" <<EOF
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$HPF_KAFKA_ADMIN_PASSWORD";
ssl.truststore.type=PEM
ssl.truststore.location=/certs/ca.pem
EOF
}

user() { # user NAME PASSWORD-VARIABLE: create or update NAME's SCRAM-SHA-512 credential
  "$BIN/kafka-configs.sh" --bootstrap-server "$BOOTSTRAP" --command-config "$ADMIN_CONFIG" --alter \
    --entity-type users --entity-name "$1" --add-config "SCRAM-SHA-512=[password=${!2}]" >/dev/null
  echo "kafka-setup: user $1"
}

allow() { # allow USER PATTERN-TYPE "OPERATION..." RESOURCE-OPTIONS...: one kafka-acls call
  local principal=$1 pattern=$2 operations=$3 operation
  local options=()
  for operation in $operations; do options+=(--operation "$operation"); done
  shift 3
  "$BIN/kafka-acls.sh" --bootstrap-server "$BOOTSTRAP" --command-config "$ADMIN_CONFIG" --add \
    --allow-principal "User:$principal" --resource-pattern-type "$pattern" "${options[@]}" "$@" >/dev/null
  echo "kafka-setup: allow User:$principal $operations on $pattern $*"
}

topics() { # topics NAME...: sets TOPICS to "--topic NAME" for each name
  TOPICS=()
  local name
  for name in "$@"; do TOPICS+=(--topic "$name"); done
}

service() { # service USER "TOPIC WRITTEN..." "TOPIC READ..."
  local name=$1 written=$2 read=$3
  # Every service creates every topic of the catalogue at start (ServiceRuntime.ensureTopics,
  # Topic.allCases), and in KRaft a create without the Create right fails even for a topic that
  # exists, which would stop the service. So each may Create under the prefix hpf.: that lets it
  # make a topic, not read or write one. DescribeConfigs lets the create answer carry the new
  # topic's settings.
  allow "$name" prefixed "Create DescribeConfigs" --topic hpf.
  # Its own topics, and the dead-letter topic every consumer may write (Write implies Describe;
  # Write on some topic also covers the idempotent producer's InitProducerId since Kafka 3.0).
  # shellcheck disable=SC2086 # the lists are space-separated topic names
  topics $written "$DEAD_LETTER"
  allow "$name" literal "Write Describe" "${TOPICS[@]}"
  # The topics it consumes (grep 'EventSubscription(consumerName' in Services/<service>/Sources).
  # shellcheck disable=SC2086
  topics $read
  allow "$name" literal "Read Describe" "${TOPICS[@]}"
  # Its consumer groups: HPF_CONSUMER_GROUP (default hpf.<service>) + "." + the subscription's name.
  allow "$name" prefixed "Read" --group "hpf.$name."
}

grant() {
  local variable
  for variable in HPF_KAFKA_ADMIN_PASSWORD ENROLMENT_KAFKA_PASSWORD CONTRIBUTION_KAFKA_PASSWORD \
      SUBSIDY_KAFKA_PASSWORD WITHDRAWAL_KAFKA_PASSWORD LOAN_KAFKA_PASSWORD REGIONAL_SYNC_KAFKA_PASSWORD \
      PAYMENT_CHANNEL_KAFKA_PASSWORD; do
    password_ok "$variable"
  done
  for variable in ANALYTICS_KAFKA_PASSWORD PARTNER_CITY_KAFKA_PASSWORD; do
    if [ -n "${!variable-}" ]; then password_ok "$variable"; fi
  done
  admin_config
  trap 'rm -f "$ADMIN_CONFIG"' EXIT

  user enrolment ENROLMENT_KAFKA_PASSWORD
  user contribution CONTRIBUTION_KAFKA_PASSWORD
  user subsidy SUBSIDY_KAFKA_PASSWORD
  user withdrawal WITHDRAWAL_KAFKA_PASSWORD
  user loan LOAN_KAFKA_PASSWORD
  user regional-sync REGIONAL_SYNC_KAFKA_PASSWORD
  user payment-channel PAYMENT_CHANNEL_KAFKA_PASSWORD

  #        user           writes                                            reads
  service  enrolment      "$ENROLMENT_EVENTS"                               "$LOAN_EVENTS $CONTRIBUTION_EVENTS"
  service  contribution   "$CONTRIBUTION_EVENTS"                            "$ENROLMENT_EVENTS $SUBSIDY_EVENTS $WITHDRAWAL_EVENTS $LOAN_EVENTS $REGIONAL_EVENTS"
  service  subsidy        "$SUBSIDY_EVENTS"                                 "$ENROLMENT_EVENTS $CONTRIBUTION_EVENTS"
  service  withdrawal     "$WITHDRAWAL_EVENTS $PAYOUT_INSTRUCTIONS"         "$ENROLMENT_EVENTS $CONTRIBUTION_EVENTS"
  service  loan           "$LOAN_EVENTS"                                    "$ENROLMENT_EVENTS $CONTRIBUTION_EVENTS $REGIONAL_EVENTS"
  service  regional-sync  "$REGIONAL_EVENTS $TRANSFER_PAYOUT_INSTRUCTIONS"  "$ENROLMENT_EVENTS $CONTRIBUTION_EVENTS $WITHDRAWAL_EVENTS $LOAN_EVENTS $PARTNER_INBOUND"
  # regional-sync also writes the partner feed, one topic per partner city, which it creates at
  # start for every border partner of its policy parameters: Write and Create under the prefix.
  allow regional-sync prefixed "Write Describe Create" --topic "$PARTNER_OUTBOUND_PREFIX"

  # The payment-channel adapter reads the payout instructions (full payee bank accounts), and
  # nothing else; no other user may read that topic. Its groups: hpfctl payment-channel uses
  # hpfctl.payment-channel.<id>, a production adapter hpf.payment-channel[.<id>].
  allow payment-channel literal "Read Describe" --topic "$PAYOUT_INSTRUCTIONS"
  allow payment-channel prefixed "Read" --group hpfctl.payment-channel --group hpf.payment-channel
  # The bank's adapter reads the transfer payout instructions (a transfer out's balance for our bank
  # to pay to the receiving centre; no personal data, but an order to move money) and confirms each
  # on regional-sync over HTTP as the `bank` channel. This stack has no bank user of its own, so the
  # payment-channel user, which already reads the other payout instructions, reads these too (its
  # groups above); a deployment with a separate bank adapter gives that adapter's user this Read
  # instead. No other user reads the topic, except the optional partner-city example below.
  allow payment-channel literal "Read Describe" --topic "$TRANSFER_PAYOUT_INSTRUCTIONS"

  # Optional example: a reporting consumer that reads the six events topics, which carry masked
  # payees, and not the payout instructions (either kind), the partner feed or the dead letters.
  # Kafka ACLs have no wildcard inside a name, and the prefix hpf. would include the payout
  # instructions, so the topics are listed one by one.
  if [ -n "${ANALYTICS_KAFKA_PASSWORD-}" ]; then
    user analytics ANALYTICS_KAFKA_PASSWORD
    allow analytics literal "Read Describe" --topic "$ENROLMENT_EVENTS" --topic "$CONTRIBUTION_EVENTS" \
      --topic "$SUBSIDY_EVENTS" --topic "$WITHDRAWAL_EVENTS" --topic "$LOAN_EVENTS" --topic "$REGIONAL_EVENTS"
    allow analytics prefixed "Read" --group hpf.analytics
  fi

  # Optional example: a partner city (or hpfctl partner-city), which writes the inbound partner
  # feed that regional-sync reads, and reads the outbound topics of the cities it plays, and no
  # other city's: literal topics, never the prefix (which would cover every city). The user plays
  # the simulator's cities, those of `hpfctl partner-city` without --cities: 320300 Xuzhou and
  # 321300 Suqian. A real deployment gives every city its own user, with Read on its own topic
  # $PARTNER_OUTBOUND_PREFIX<its code>.v1 only. On a broker set up by an earlier version, this
  # user's Read on the old hpf.regional.partner-outbound.v1 stays until removed (kafka-acls --remove).
  # The simulator also plays the banks between the centres, so this example user reads (and may
  # create) the transfer payout instructions too; a real city's user never gets them.
  if [ -n "${PARTNER_CITY_KAFKA_PASSWORD-}" ]; then
    user partner-city PARTNER_CITY_KAFKA_PASSWORD
    local city
    local outbound=()
    for city in 320300 321300; do outbound+=(--topic "${PARTNER_OUTBOUND_PREFIX}${city}.v1"); done
    allow partner-city literal "Write Describe" --topic "$PARTNER_INBOUND"
    allow partner-city literal "Read Describe" "${outbound[@]}"
    # The simulator creates its cities' topics before it subscribes (so it need not wait for
    # regional-sync), and in KRaft a create without Create fails even for a topic that exists.
    # Create on these two names lets it make them, not read any other; a real city's own system,
    # which only reads, needs no Create.
    allow partner-city literal "Create" "${outbound[@]}"
    allow partner-city literal "Read Describe Create" --topic "$TRANSFER_PAYOUT_INSTRUCTIONS"
    allow partner-city prefixed "Read" --group hpfctl.partner-city --group hpf.partner-city
  fi
  echo "kafka-setup: done"
}

case "${1-}" in
  format) format ;;
  grant) grant ;;
  *) echo "usage: kafka-setup.sh format|grant" >&2; exit 2 ;;
esac
