-- TOTP two-factor authentication (RFC 6238). The secret is kept in base32
-- from enrolment; it counts only once a code from it was confirmed. The
-- last step used is kept so that a code works once.
ALTER TABLE users ADD COLUMN totp_secret TEXT;
ALTER TABLE users ADD COLUMN totp_enabled BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;
-- The co-op requires it of admins: an admin without it acts as a member.
ALTER TABLE instance ADD COLUMN require_admin_totp BOOLEAN NOT NULL DEFAULT FALSE;
