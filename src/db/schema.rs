// One schema for both backends: only types that SQLite and PostgreSQL both map
// (BigInt, Text, Bool, Timestamp, Double). The migrations under
// migrations/{sqlite,postgres} are the truth; keep this file in step with them.

diesel::table! {
    instance (id) {
        id -> BigInt,
        setup_token_hash -> Nullable<Text>,
        setup_completed_at -> Nullable<Timestamp>,
        coop_actor_id -> Nullable<BigInt>,
        instance_actor_id -> Nullable<BigInt>,
        default_language -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    actors (id) {
        id -> BigInt,
        ap_id -> Text,
        kind -> Text,
        handle -> Text,
        domain -> Text,
        local -> Bool,
        name -> Text,
        summary -> Text,
        url -> Nullable<Text>,
        inbox -> Text,
        shared_inbox -> Nullable<Text>,
        outbox -> Nullable<Text>,
        followers_url -> Nullable<Text>,
        public_key_id -> Nullable<Text>,
        public_key_pem -> Nullable<Text>,
        private_key_pem -> Nullable<Text>,
        icon_url -> Nullable<Text>,
        image_url -> Nullable<Text>,
        website -> Nullable<Text>,
        contact_email -> Nullable<Text>,
        address -> Nullable<Text>,
        latitude -> Nullable<Double>,
        longitude -> Nullable<Double>,
        languages -> Text,
        manually_approves_followers -> Bool,
        discoverable -> Bool,
        last_fetched_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        username -> Text,
        email -> Nullable<Text>,
        display_name -> Text,
        password_hash -> Text,
        role -> Text,
        disabled -> Bool,
        created_at -> Timestamp,
        last_login_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sessions (id) {
        id -> BigInt,
        token_hash -> Text,
        user_id -> BigInt,
        csrf_token -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> BigInt,
        user_id -> BigInt,
        name -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    login_attempts (id) {
        id -> BigInt,
        username -> Text,
        ip -> Text,
        attempted_at -> Timestamp,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        user_id -> Nullable<BigInt>,
        action -> Text,
        detail -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(api_tokens -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    instance,
    actors,
    users,
    sessions,
    api_tokens,
    login_attempts,
    audit_log,
);
