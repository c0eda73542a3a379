# The image of the one-shot `tls-setup` service (compose.yaml): Alpine with the OpenSSL command
# line, nothing else. The script it runs, tls-setup.sh, is mounted at run time, not copied in,
# so editing it needs no rebuild.
FROM alpine:3.20
RUN apk add --no-cache openssl
