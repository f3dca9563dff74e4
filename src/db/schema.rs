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
        federation_mode -> Text,
        authorized_fetch -> Bool,
        require_admin_totp -> Bool,
        mail_secret -> Nullable<Text>,
        retention_remote_days -> Nullable<BigInt>,
        retention_message_days -> Nullable<BigInt>,
        retention_log_days -> Nullable<BigInt>,
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
        actor_id -> Nullable<BigInt>,
        open_to_messages -> Bool,
        totp_secret -> Nullable<Text>,
        totp_enabled -> Bool,
        totp_last_step -> Nullable<BigInt>,
        email_notices -> Text,
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
    password_resets (id) {
        id -> BigInt,
        user_id -> BigInt,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
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

diesel::table! {
    objects (id) {
        id -> BigInt,
        ap_id -> Text,
        kind -> Text,
        ap_type -> Text,
        author_id -> BigInt,
        in_reply_to -> Nullable<Text>,
        visibility -> Text,
        title -> Text,
        summary -> Text,
        content_html -> Text,
        source -> Nullable<Text>,
        slug -> Nullable<Text>,
        image_url -> Nullable<Text>,
        image_alt -> Nullable<Text>,
        url -> Nullable<Text>,
        local -> Bool,
        published_at -> Nullable<Timestamp>,
        updated_at -> Nullable<Timestamp>,
        deleted_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        status -> Text,
        hidden_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    follows (id) {
        id -> BigInt,
        follower_id -> BigInt,
        followed_id -> BigInt,
        state -> Text,
        ap_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    reactions (id) {
        id -> BigInt,
        kind -> Text,
        actor_id -> BigInt,
        object_id -> BigInt,
        ap_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    inbox_log (id) {
        id -> BigInt,
        activity_id -> Text,
        kind -> Text,
        actor -> Text,
        object -> Nullable<Text>,
        raw -> Text,
        received_at -> Timestamp,
    }
}

diesel::table! {
    reports (id) {
        id -> BigInt,
        actor_id -> BigInt,
        activity_id -> Text,
        objects -> Text,
        content -> Text,
        created_at -> Timestamp,
        resolved_at -> Nullable<Timestamp>,
        reporter_user_id -> Nullable<BigInt>,
        forwarded_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    outgoing_events (id) {
        id -> BigInt,
        kind -> Text,
        subject_id -> BigInt,
        detail -> Text,
        created_at -> Timestamp,
        claimed_until -> Nullable<Timestamp>,
        processed_at -> Nullable<Timestamp>,
        due_at -> Nullable<Timestamp>,
        consumer -> Text,
    }
}

diesel::table! {
    outbox (id) {
        id -> BigInt,
        ap_id -> Text,
        actor_id -> BigInt,
        kind -> Text,
        object_id -> Nullable<BigInt>,
        json -> Text,
        public -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    deliveries (id) {
        id -> BigInt,
        outbox_id -> BigInt,
        inbox -> Text,
        host -> Text,
        state -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        claimed_until -> Nullable<Timestamp>,
        last_status -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        delivered_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    delivery_attempts (id) {
        id -> BigInt,
        delivery_id -> BigInt,
        attempted_at -> Timestamp,
        status -> Nullable<Integer>,
        error -> Nullable<Text>,
        duration_ms -> BigInt,
    }
}

diesel::table! {
    hosts (host) {
        host -> Text,
        consecutive_failures -> Integer,
        unreachable_since -> Nullable<Timestamp>,
        last_success_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    domain_blocks (id) {
        id -> BigInt,
        domain -> Text,
        mode -> Text,
        reason -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    events (object_id) {
        object_id -> BigInt,
        starts_at -> Timestamp,
        ends_at -> Nullable<Timestamp>,
        timezone -> Text,
        location_name -> Nullable<Text>,
        address -> Nullable<Text>,
        latitude -> Nullable<Double>,
        longitude -> Nullable<Double>,
        online_url -> Nullable<Text>,
        capacity -> Nullable<BigInt>,
        join_mode -> Text,
        category -> Nullable<Text>,
        comments_enabled -> Bool,
        cancelled_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    participations (id) {
        id -> BigInt,
        object_id -> BigInt,
        actor_id -> BigInt,
        ap_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    polls (object_id) {
        object_id -> BigInt,
        multiple -> Bool,
        closes_at -> Timestamp,
        ballot -> Bool,
        secret -> Bool,
        quorum -> Nullable<BigInt>,
        opens_at -> Nullable<Timestamp>,
        eligible -> Nullable<BigInt>,
    }
}

diesel::table! {
    surveys (id) {
        id -> BigInt,
        slug -> Text,
        title -> Text,
        description -> Text,
        audience -> Text,
        link_token -> Nullable<Text>,
        opens_at -> Timestamp,
        closes_at -> Timestamp,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    survey_questions (id) {
        id -> BigInt,
        survey_id -> BigInt,
        position -> BigInt,
        kind -> Text,
        prompt -> Text,
        required -> Bool,
        options -> Text,
    }
}

diesel::table! {
    survey_responses (id) {
        id -> BigInt,
        survey_id -> BigInt,
        respondent -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    survey_answers (response_id, question_id) {
        response_id -> BigInt,
        question_id -> BigInt,
        value -> Text,
    }
}

diesel::table! {
    ballot_voters (object_id, member_id) {
        object_id -> BigInt,
        member_id -> BigInt,
        ap_id -> Nullable<Text>,
        voted_at -> Timestamp,
    }
}

diesel::table! {
    ballot_choices (receipt_hash) {
        receipt_hash -> Text,
        object_id -> BigInt,
        option_id -> BigInt,
    }
}

diesel::table! {
    poll_options (id) {
        id -> BigInt,
        object_id -> BigInt,
        position -> BigInt,
        name -> Text,
    }
}

diesel::table! {
    votes (id) {
        id -> BigInt,
        object_id -> BigInt,
        option_id -> BigInt,
        actor_id -> BigInt,
        ap_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    media (id) {
        id -> BigInt,
        token -> Text,
        user_id -> Nullable<BigInt>,
        media_type -> Text,
        width -> BigInt,
        height -> BigInt,
        thumb_width -> BigInt,
        thumb_height -> BigInt,
        alt -> Text,
        blurhash -> Nullable<Text>,
        bytes -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    forums (actor_id) {
        actor_id -> BigInt,
        visibility -> Text,
        posting_restricted -> Bool,
        subscribed_by -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    threads (object_id) {
        object_id -> BigInt,
        forum_id -> BigInt,
        locked -> Bool,
        pinned -> Bool,
        last_activity_at -> Timestamp,
    }
}

diesel::table! {
    forum_bans (id) {
        id -> BigInt,
        forum_id -> BigInt,
        actor_id -> BigInt,
        reason -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    members (id) {
        id -> BigInt,
        name -> Text,
        member_number -> Nullable<Text>,
        email -> Nullable<Text>,
        phone -> Nullable<Text>,
        joined_on -> Nullable<Text>,
        status -> Text,
        role -> Text,
        groups -> Text,
        notes -> Text,
        user_id -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        directory -> Text,
    }
}

diesel::table! {
    invitations (id) {
        id -> BigInt,
        member_id -> BigInt,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    member_accounts (id) {
        id -> BigInt,
        member_id -> BigInt,
        actor_id -> BigInt,
        code_hash -> Nullable<Text>,
        code_expires_at -> Nullable<Timestamp>,
        attempts -> BigInt,
        verified_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    message_recipients (object_id, actor_id) {
        object_id -> BigInt,
        actor_id -> BigInt,
        read_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    newsletters (id) {
        id -> BigInt,
        object_id -> BigInt,
        audience -> Text,
        status -> Text,
        subject -> Text,
        body_text -> Text,
        body_html -> Text,
        recipients -> BigInt,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        queued_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    mail_queue (id) {
        id -> BigInt,
        kind -> Text,
        to_addr -> Text,
        subject -> Text,
        body_text -> Text,
        newsletter_id -> Nullable<BigInt>,
        status -> Text,
        attempts -> BigInt,
        next_attempt_at -> Timestamp,
        leased_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    subscribers (id) {
        id -> BigInt,
        email -> Text,
        confirm_hash -> Nullable<Text>,
        created_at -> Timestamp,
        confirmed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    unsubscribed (email) {
        email -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    notifications (id) {
        id -> BigInt,
        user_id -> BigInt,
        kind -> Text,
        actor_id -> Nullable<BigInt>,
        text -> Text,
        link -> Text,
        created_at -> Timestamp,
        read_at -> Nullable<Timestamp>,
        object -> Nullable<Text>,
    }
}

diesel::table! {
    member_blocks (id) {
        id -> BigInt,
        user_id -> BigInt,
        actor_id -> BigInt,
        kind -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(message_recipients -> objects (object_id));
diesel::joinable!(member_accounts -> members (member_id));
diesel::joinable!(member_accounts -> actors (actor_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(threads -> objects (object_id));
diesel::joinable!(events -> objects (object_id));
diesel::joinable!(polls -> objects (object_id));
diesel::joinable!(participations -> actors (actor_id));
diesel::joinable!(votes -> poll_options (option_id));
diesel::joinable!(objects -> actors (author_id));
diesel::joinable!(deliveries -> outbox (outbox_id));
diesel::joinable!(api_tokens -> users (user_id));

diesel::joinable!(password_resets -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    instance,
    password_resets,
    actors,
    users,
    sessions,
    api_tokens,
    login_attempts,
    audit_log,
    objects,
    follows,
    reactions,
    inbox_log,
    reports,
    outgoing_events,
    outbox,
    deliveries,
    delivery_attempts,
    hosts,
    domain_blocks,
    events,
    participations,
    polls,
    poll_options,
    votes,
    media,
    forums,
    threads,
    forum_bans,
    members,
    invitations,
    member_accounts,
    message_recipients,
    ballot_voters,
    ballot_choices,
    surveys,
    survey_questions,
    survey_responses,
    survey_answers,
    newsletters,
    mail_queue,
    subscribers,
    unsubscribed,
    notifications,
    member_blocks,
);
