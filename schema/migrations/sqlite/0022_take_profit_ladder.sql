-- 0022_take_profit_ladder: a signal with targets TP1..TPn closes its
-- filled position leg by leg (DESIGN §8 Take-profit). Each leg is a row:
-- its target, its quantity in broker steps (a leg below the broker's
-- minimum is merged into its neighbour: quantity 0, merged_into), its
-- state and exit, and the stop move due when it fills (breakeven after
-- TP1, or trail after TPk), recorded once (stop_moved_at). The trader
-- chooses the stop move (risk_settings); a channel subscription may
-- override it (source_subscriptions.ladder_stop, NULL follows the trader).

CREATE TABLE take_profit_legs (
    id              varchar(36)    PRIMARY KEY,
    trade_id        varchar(36)    NOT NULL,
    n               integer        NOT NULL,
    target          numeric(38,18) NOT NULL,
    share           numeric(38,18) NOT NULL,
    quantity        numeric(38,18) NOT NULL,
    merged_into     integer        NOT NULL DEFAULT 0,
    status          varchar(16)    NOT NULL,
    exit_trade_id   varchar(36)    NOT NULL DEFAULT '',
    attempts        integer        NOT NULL DEFAULT 0,
    filled_quantity numeric(38,18) NOT NULL DEFAULT 0,
    fill_price      numeric(38,18),
    stop_move       varchar(16)    NOT NULL DEFAULT '',
    stop_price      numeric(38,18),
    trail_percent   numeric(38,18),
    stop_moved_at   DATETIME,
    created_at      DATETIME     NOT NULL,
    updated_at      DATETIME     NOT NULL
);
CREATE UNIQUE INDEX ux_tp_leg_trade_n ON take_profit_legs (trade_id, n);

ALTER TABLE risk_settings ADD COLUMN ladder_stop varchar(16) NOT NULL DEFAULT 'none';
ALTER TABLE risk_settings ADD COLUMN breakeven_offset_pct numeric(38,18) NOT NULL DEFAULT 0;
ALTER TABLE risk_settings ADD COLUMN trail_after_target integer NOT NULL DEFAULT 1;
ALTER TABLE risk_settings ADD COLUMN ladder_trail_pct numeric(38,18) NOT NULL DEFAULT 1;
ALTER TABLE source_subscriptions ADD COLUMN ladder_stop varchar(16);
