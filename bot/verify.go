package bot

import (
	"context"
	"net/http"

	"github.com/bwmarrin/discordgo"
	"go.uber.org/zap"

	"github.com/tradeexec/tradeexec/internal/sources"
)

// verifyPending checks the sources registered on the dashboard: the
// channel must be in the named server, the bot must be in it, and the
// registrant's Discord account must own it or hold Manage Server there.
// A check Discord cannot answer now is retried on the next pass.
func (b *Bot) verifyPending(ctx context.Context) {
	pending, err := sources.List(ctx, b.o.DB, []string{sources.StatusPending}, "")
	if err != nil {
		b.log.Warn("list pending sources", zap.Error(err))
		return
	}
	changed := false
	for _, src := range pending {
		status, reason, err := b.checkSource(ctx, src)
		if err != nil {
			b.log.Warn("verify source", zap.String("source_id", src.ID), zap.Error(err))
			continue
		}
		if err := sources.SetStatus(ctx, b.o.DB, src.ID, status, reason); err != nil {
			b.log.Error("record source verification", zap.String("source_id", src.ID), zap.Error(err))
			continue
		}
		b.log.Info("source verified", zap.String("source_id", src.ID), zap.String("status", status), zap.String("reason", reason))
		changed = true
	}
	if changed {
		b.sourcesChanged(ctx)
	}
}

// checkSource returns the source's new status; err means "ask again
// later".
func (b *Bot) checkSource(ctx context.Context, src sources.Source) (status, reason string, err error) {
	s := b.rest()
	opt := discordgo.WithContext(ctx)
	ch, err := s.Channel(src.ChannelID, opt)
	if gone(err) {
		return sources.StatusRejected, "The bot cannot see this channel. Invite the bot to the server and give it access to the channel.", nil
	}
	if err != nil {
		return "", "", err
	}
	if ch.GuildID != src.GuildID {
		return sources.StatusRejected, "This channel is not in the server you named.", nil
	}
	g, err := s.Guild(src.GuildID, opt)
	if gone(err) {
		return sources.StatusRejected, "The bot is not in this server. Invite it first.", nil
	}
	if err != nil {
		return "", "", err
	}
	if g.OwnerID == src.RegisteredByDiscordID {
		return sources.StatusActive, "", nil
	}
	member, err := s.GuildMember(src.GuildID, src.RegisteredByDiscordID, opt)
	if gone(err) {
		return sources.StatusRejected, "Your Discord account is not a member of this server.", nil
	}
	if err != nil {
		return "", "", err
	}
	roles, err := s.GuildRoles(src.GuildID, opt)
	if err != nil {
		return "", "", err
	}
	if permissions(src.GuildID, member.Roles, roles)&(permAdministrator|permManageGuild) == 0 {
		return sources.StatusRejected, "Only members with the Manage Server permission can register a signal source.", nil
	}
	return sources.StatusActive, "", nil
}

// isAdmin reports whether discordID owns the guild or holds Administrator
// or Manage Server there now (a member who left is not).
func (b *Bot) isAdmin(ctx context.Context, guildID, discordID string) (bool, error) {
	s := b.rest()
	opt := discordgo.WithContext(ctx)
	g, err := s.Guild(guildID, opt)
	if err != nil {
		return false, err
	}
	if g.OwnerID == discordID {
		return true, nil
	}
	member, err := s.GuildMember(guildID, discordID, opt)
	if gone(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	roles, err := s.GuildRoles(guildID, opt)
	if err != nil {
		return false, err
	}
	return permissions(guildID, member.Roles, roles)&(permAdministrator|permManageGuild) != 0, nil
}

// reverifyActive checks that each active source's registrant still owns
// the server or holds Manage Server there; one who lost it loses the
// source (rejected with the reason), which a current admin can then
// register again (issue 13 #3).
func (b *Bot) reverifyActive(ctx context.Context) {
	active, err := sources.List(ctx, b.o.DB, []string{sources.StatusActive}, "")
	if err != nil {
		b.log.Warn("list active sources", zap.Error(err))
		return
	}
	changed := false
	for _, src := range active {
		// A source verified (registered, or last checked) within the
		// interval needs no new look.
		if !onShard(src.GuildID, [2]int{b.o.ShardID, b.o.ShardCount}) || b.now().Sub(src.UpdatedAt) < b.o.ReverifyInterval {
			continue
		}
		ok, err := b.isAdmin(ctx, src.GuildID, src.RegisteredByDiscordID)
		if err != nil {
			b.log.Warn("re-verify source owner", zap.String("source_id", src.ID), zap.Error(err))
			continue
		}
		if ok {
			continue
		}
		if err := sources.Unverify(ctx, b.o.DB, src.ID, msgOwnerNoLongerAdmin); err != nil {
			b.log.Error("record source re-verification", zap.String("source_id", src.ID), zap.Error(err))
			continue
		}
		b.log.Info("source owner no longer an admin", zap.String("source_id", src.ID))
		changed = true
	}
	if changed {
		b.sourcesChanged(ctx)
	}
}

const msgOwnerNoLongerAdmin = "The registrant no longer has the Manage Server permission in this server. A server admin can register the channel again with /source register."

// permissions are a member's guild-level permissions: @everyone (the role
// whose id is the guild id) plus the member's roles.
func permissions(guildID string, memberRoles []string, roles []*discordgo.Role) int64 {
	has := map[string]bool{guildID: true}
	for _, r := range memberRoles {
		has[r] = true
	}
	var p int64
	for _, r := range roles {
		if has[r.ID] {
			p |= r.Permissions
		}
	}
	return p
}

// gone: Discord answered that the thing does not exist or is not visible.
func gone(err error) bool {
	status, _ := restCode(err)
	return status == http.StatusNotFound || status == http.StatusForbidden
}
