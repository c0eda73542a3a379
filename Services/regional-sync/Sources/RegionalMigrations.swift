import ServiceRuntime

enum RegionalMigrations {
    static let all: [Migration] = [
        Migration(1, "partner exchange switches and signing keys", """
            -- The partner cities themselves are a policy parameter; here only what staff switch and register.
            CREATE TABLE partner_switches (
                partner_code text PRIMARY KEY,
                transfer_enabled boolean NOT NULL,
                recognition_enabled boolean NOT NULL,
                updated_at timestamptz NOT NULL DEFAULT now()
            );
            -- Each partner's public Ed25519 keys, by key id, so keys can rotate.
            CREATE TABLE partner_keys (
                key_id text PRIMARY KEY,
                partner_code text NOT NULL,
                public_key text NOT NULL,
                registered_at timestamptz NOT NULL DEFAULT now(),
                revoked_at timestamptz
            );
            CREATE INDEX partner_keys_by_partner ON partner_keys (partner_code)
            """),
    ]
}
