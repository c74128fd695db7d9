package bot

import (
	"context"
	"strings"

	"github.com/bwmarrin/discordgo"
	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/sources"
	"github.com/tradeexec/tradeexec/schema"
)

// sourceChannel is the channel a follow command names (default: here).
func sourceChannel(c *command) string {
	if id := c.str("source"); id != "" {
		return id
	}
	return c.i.ChannelID
}

func (b *Bot) cmdFollow(ctx context.Context, c *command, user schema.User) (string, error) {
	src, err := sources.ByChannel(ctx, b.o.DB, sourceChannel(c))
	if err != nil {
		return "", err
	}
	sz := sources.DefaultSizing()
	mult, amount := strings.TrimSpace(c.str("multiplier")), strings.TrimSpace(strings.TrimPrefix(c.str("amount"), "$"))
	switch {
	case mult != "" && amount != "":
		return "Give either a multiplier or an amount, not both.", nil
	case amount != "":
		d, err := decimal.NewFromString(strings.ReplaceAll(amount, ",", ""))
		if err != nil {
			return "The amount must be a dollar figure like 250 or 99.50.", nil
		}
		sz = sources.Sizing{Mode: sources.SizingFixedAmount, FixedAmount: d}
	case mult != "":
		d, err := decimal.NewFromString(strings.TrimSuffix(strings.ToLower(mult), "x"))
		if err != nil {
			return "The multiplier must be a number like 0.5 or 2.", nil
		}
		sz = sources.Sizing{Mode: sources.SizingMultiplier, Multiplier: d}
	}
	shadow, _ := c.boolean("shadow")
	sub, err := sources.Follow(ctx, b.o.DB, user.ID, src.ID, sz, shadow)
	if err != nil {
		return "", err
	}
	return followAnswer(sub), nil
}

func (b *Bot) cmdUnfollow(ctx context.Context, c *command, user schema.User) (string, error) {
	src, err := sources.ByChannel(ctx, b.o.DB, sourceChannel(c))
	if err != nil {
		return "", err
	}
	if err := sources.Unfollow(ctx, b.o.DB, user.ID, src.ID); err != nil {
		return "", err
	}
	return "You no longer follow **" + src.Name + "**.", nil
}

func (b *Bot) cmdTradeexec(ctx context.Context, s *discordgo.Session, c *command, user schema.User) (string, error) {
	switch c.sub {
	case cmdFollow:
		return b.cmdFollow(ctx, c, user)
	case cmdUnfollow:
		return b.cmdUnfollow(ctx, c, user)
	case subNotifications:
		return b.cmdNotifications(ctx, c, user)
	case subRegister:
		return b.cmdRegister(ctx, s, c, user)
	case subUnregister, subAuthorize, subDeauthorize:
		return b.cmdManageSource(ctx, c, user)
	}
	return "Unknown command.", nil
}

// cmdRegister makes the current channel a signal source. Discord attests
// the member's permissions in the interaction, so the source is active at
// once; the registering trader is its owner (the provider).
func (b *Bot) cmdRegister(ctx context.Context, s *discordgo.Session, c *command, user schema.User) (string, error) {
	if c.i.GuildID == "" {
		return msgNotInGuild, nil
	}
	if !c.guildAdmin() {
		return msgNeedAdmin, nil
	}
	name := "#" + c.i.ChannelID
	if ch, err := s.Channel(c.i.ChannelID, discordgo.WithContext(ctx)); err == nil && ch.Name != "" {
		name = "#" + ch.Name
	}
	mode := c.str("mode")
	if mode == "" {
		mode = sources.ModeStrict
	}
	var authors []sources.Author
	if id := c.str("user"); id != "" {
		authors = append(authors, sources.Author{Kind: sources.AuthorUser, DiscordID: id})
	}
	if id := c.str("role"); id != "" {
		authors = append(authors, sources.Author{Kind: sources.AuthorRole, DiscordID: id})
	}
	summary, set := c.boolean("summary")
	if !set {
		summary = true
	}
	maxAge, _ := c.integer("max_age")
	src, err := sources.Register(ctx, b.o.DB, sources.RegisterInput{
		GuildID: c.i.GuildID, ChannelID: c.i.ChannelID, Name: name, OwnerUserID: user.ID, RegisteredBy: c.discordID,
		Mode: mode, Authors: authors, SummaryReplies: summary, MaxAgeSeconds: int(maxAge), Verified: true,
		StillAdmin: b.isAdmin,
	})
	if err != nil {
		return "", err
	}
	b.sourcesChanged(ctx)
	return registerAnswer(src), nil
}

// cmdManageSource: unregister, authorize, deauthorize — by the source's
// owner, who must still manage the server.
func (b *Bot) cmdManageSource(ctx context.Context, c *command, user schema.User) (string, error) {
	if c.i.GuildID == "" {
		return msgNotInGuild, nil
	}
	if !c.guildAdmin() {
		return msgNeedAdmin, nil
	}
	src, err := sources.ByChannel(ctx, b.o.DB, c.i.ChannelID)
	if err != nil {
		return msgNotRegistered, nil
	}
	if src.OwnerUserID != user.ID {
		return msgSourceNotOwned, nil
	}
	if c.sub == subUnregister {
		if err := sources.Delete(ctx, b.o.DB, user.ID, src.ID); err != nil {
			return "", err
		}
		b.sourcesChanged(ctx)
		return "This channel is no longer a signal source. Its followers were unsubscribed.", nil
	}
	var a sources.Author
	switch {
	case c.str("user") != "":
		a = sources.Author{Kind: sources.AuthorUser, DiscordID: c.str("user")}
	case c.str("role") != "":
		a = sources.Author{Kind: sources.AuthorRole, DiscordID: c.str("role")}
	default:
		return "Name a user or a role.", nil
	}
	allow := c.sub == subAuthorize
	if !allow {
		n := 0
		for _, x := range src.Authors {
			if x != a {
				n++
			}
		}
		if n == 0 {
			return "A source needs at least one authorized user or role.", nil
		}
	}
	if err := sources.SetAuthor(ctx, b.o.DB, src.ID, a, allow); err != nil {
		return "", err
	}
	b.sourcesChanged(ctx)
	mention := "<@" + a.DiscordID + ">"
	if a.Kind == sources.AuthorRole {
		mention = "<@&" + a.DiscordID + ">"
	}
	if allow {
		return mention + " may now post signals here.", nil
	}
	return "Signals from " + mention + " are no longer taken.", nil
}

func (b *Bot) cmdNotifications(ctx context.Context, c *command, user schema.User) (string, error) {
	p, err := sources.GetPreferences(ctx, b.o.DB, user.ID)
	if err != nil {
		return "", err
	}
	for name, field := range map[string]*bool{"fills": &p.Fills, "rejections": &p.Rejects, "queued": &p.Queued,
		"stop_loss": &p.StopLoss, "risk_locks": &p.RiskLocks} {
		if v, ok := c.boolean(name); ok {
			*field = v
		}
	}
	if err := sources.SetPreferences(ctx, b.o.DB, user.ID, p); err != nil {
		return "", err
	}
	return preferencesAnswer(p), nil
}
