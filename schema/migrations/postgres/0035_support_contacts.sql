-- 0035_support_contacts: a contact a support agent or administrator had
-- with a trader (issue 16, SPEC FR-043 "support_tickets_count"), recorded
-- by POST /api/v1/support/contacts and audited (SUPPORT_CONTACT_RECORDED).
-- The 90-day count per trader is meant as a churn feature; the model does
-- not use it yet (DESIGN.md "Churn scoring").

CREATE TABLE support_contacts (
    id           varchar(36)  PRIMARY KEY,
    user_id      varchar(36)  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    staff_id     varchar(36)  NOT NULL,
    channel      varchar(16)  NOT NULL,
    summary      text         NOT NULL DEFAULT '',
    contacted_at timestamptz NOT NULL
);

CREATE INDEX ix_support_contacts_user_at ON support_contacts (user_id, contacted_at);
