// Bridges librdkafka to Swift. rd_kafka_producev is variadic and cannot be called from Swift,
// so the produce call is wrapped here in a plain function.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static inline rd_kafka_resp_err_t hpf_rd_produce(rd_kafka_t *rk, const char *topic,
        const void *key, size_t keylen, const void *value, size_t vallen,
        rd_kafka_headers_t *headers, void *opaque) {
    if (headers) {
        return rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_KEY(key, keylen), RD_KAFKA_V_VALUE((void *)value, vallen),
            RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
    }
    return rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(key, keylen), RD_KAFKA_V_VALUE((void *)value, vallen),
        RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
}
