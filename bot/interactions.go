package bot

import (
	"context"
	"errors"
	"time"

	"github.com/bwmarrin/discordgo"
	"go.uber.org/zap"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/sources"
	"github.com/tradeexec/tradeexec/schema"
)

// interactionTTL: an interaction token accepts edits for 15 minutes.
const interactionTTL = 14 * time.Minute

// Discord permission bits the bot checks.
const (
	permAdministrator = int64(discordgo.PermissionAdministrator)
	permManageGuild   = int64(discordgo.PermissionManageGuild)
)

// command is one invocation, with its options flattened (a subcommand's
// own options included).
type command struct {
	i         *discordgo.InteractionCreate
	name, sub string
	opts      map[string]*discordgo.ApplicationCommandInteractionDataOption
	discordID string
	perms     int64
}

func (c *command) str(name string) string {
	if o, ok := c.opts[name]; ok {
		if s, ok := o.Value.(string); ok {
			return s
		}
	}
	return ""
}

func (c *command) boolean(name string) (bool, bool) {
	if o, ok := c.opts[name]; ok {
		if v, ok := o.Value.(bool); ok {
			return v, true
		}
	}
	return false, false
}

func (c *command) integer(name string) (int64, bool) {
	if o, ok := c.opts[name]; ok {
		if v, ok := o.Value.(float64); ok {
			return int64(v), true
		}
	}
	return 0, false
}

func (c *command) guildAdmin() bool {
	return c.i.GuildID != "" && (c.perms&permAdministrator != 0 || c.perms&permManageGuild != 0)
}

// onInteraction acknowledges a slash command at once (deferred, ephemeral:
// answers contain account data), handles it, then edits the answer in.
// Discord drops an interaction not acknowledged within 3 seconds.
func (b *Bot) onInteraction(s *discordgo.Session, i *discordgo.InteractionCreate) {
	if i.Type != discordgo.InteractionApplicationCommand {
		return
	}
	if err := s.InteractionRespond(i.Interaction, &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseDeferredChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Flags: discordgo.MessageFlagsEphemeral},
	}); err != nil {
		b.log.Warn("acknowledge interaction", zap.Error(err), zap.String("interaction_id", i.ID))
		return
	}
	ctx, cancel := context.WithTimeout(b.ctx, interactionTTL)
	defer cancel()
	answer := b.handleCommand(ctx, s, parseCommand(i))
	if _, err := s.InteractionResponseEdit(i.Interaction, &discordgo.WebhookEdit{Content: &answer}); err != nil {
		b.log.Warn("answer interaction", zap.Error(err), zap.String("interaction_id", i.ID))
	}
}

func parseCommand(i *discordgo.InteractionCreate) *command {
	d := i.ApplicationCommandData()
	c := &command{i: i, name: d.Name, opts: map[string]*discordgo.ApplicationCommandInteractionDataOption{}}
	opts := d.Options
	if len(opts) == 1 && opts[0].Type == discordgo.ApplicationCommandOptionSubCommand {
		c.sub = opts[0].Name
		opts = opts[0].Options
	}
	for _, o := range opts {
		c.opts[o.Name] = o
	}
	switch {
	case i.Member != nil && i.Member.User != nil:
		c.discordID, c.perms = i.Member.User.ID, i.Member.Permissions
	case i.User != nil:
		c.discordID = i.User.ID
	}
	return c
}

func (b *Bot) handleCommand(ctx context.Context, s *discordgo.Session, c *command) string {
	log := b.log.With(zap.String("command", c.name), zap.String("sub", c.sub), zap.String("interaction_id", c.i.ID))
	user, err := b.trader(ctx, c.discordID)
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return msgNotLinked(b.o.DashboardURL)
	}
	if err != nil {
		log.Error("look up trader", zap.Error(err))
		return msgInternal
	}
	var answer string
	switch c.name {
	case cmdBuy, cmdSell:
		answer, err = b.cmdOrder(ctx, c, user)
	case cmdPositions:
		answer, err = b.cmdPositions(ctx, user)
	case cmdStatus:
		answer, err = b.cmdStatus(ctx, user)
	case cmdCancel:
		answer, err = b.cmdCancel(ctx, c, user)
	case cmdApprove, cmdReject:
		answer, err = b.cmdApproval(ctx, c, user, c.name == cmdApprove)
	case cmdFollow:
		answer, err = b.cmdFollow(ctx, c, user)
	case cmdUnfollow:
		answer, err = b.cmdUnfollow(ctx, c, user)
	case cmdTradeexec:
		answer, err = b.cmdTradeexec(ctx, s, c, user)
	default:
		answer = "Unknown command."
	}
	if err != nil {
		if e, ok := sources.AsError(err); ok {
			return e.Message
		}
		log.Error("slash command failed", zap.Error(err))
		return msgInternal
	}
	return answer
}

// trader is the tradeexec account linked to a Discord user.
func (b *Bot) trader(ctx context.Context, discordID string) (schema.User, error) {
	var u schema.User
	if discordID == "" {
		return u, gorm.ErrRecordNotFound
	}
	err := b.o.DB.WithContext(ctx).Where("discord_id = ?", discordID).First(&u).Error
	return u, err
}
