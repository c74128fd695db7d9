// Package botrun runs the Discord bot from the process configuration: the
// `tradeexec bot` role, and the bot inside `tradeexec dev` when a token is
// configured.
package botrun

import (
	"context"
	"fmt"

	"go.temporal.io/sdk/client"
	"go.uber.org/zap"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/app"
	"github.com/tradeexec/tradeexec/bot"
	"github.com/tradeexec/tradeexec/internal/config"
	"github.com/tradeexec/tradeexec/internal/store"
)

// Run runs the Discord gateway client (one shard) until ctx ends.
func Run(ctx context.Context, cfg config.Config, log *zap.Logger) error {
	db, err := app.OpenDB(ctx, cfg, log, false)
	if err != nil {
		return err
	}
	defer store.Close(db)
	tc, err := app.DialTemporal(cfg, cfg.TemporalAddress, log)
	if err != nil {
		return fmt.Errorf("temporal: %w", err)
	}
	defer tc.Close()
	return bot.Run(ctx, options(cfg, db, tc, log, nil))
}

// DevExtra runs the bot inside `tradeexec dev` when DISCORD_BOT_TOKEN is set.
func DevExtra(cfg config.Config, log *zap.Logger) app.DevExtra {
	return func(ctx context.Context, db *gorm.DB, tc client.Client, st *app.Stack) {
		if !cfg.DiscordBotToken.IsSet() {
			return
		}
		go func() {
			if err := bot.Run(ctx, options(cfg, db, tc, log, st)); err != nil && ctx.Err() == nil {
				log.Error("discord bot stopped", zap.Error(err))
			}
		}()
	}
}

func options(cfg config.Config, db *gorm.DB, tc client.Client, log *zap.Logger, st *app.Stack) bot.Options {
	o := bot.Options{
		Token: cfg.DiscordBotToken.Reveal(), DB: db, Temporal: tc, TaskQueue: cfg.TaskQueue, Log: log.Named("bot"),
		ShardID: cfg.DiscordShardID, ShardCount: cfg.DiscordShardCount, CommandGuildID: cfg.DiscordCommandGuildID,
		DashboardURL: cfg.PublicURL + "/dashboard",
	}
	if st != nil && st.Hub != nil {
		o.Committed = st.Hub.Committed
	}
	return o
}
