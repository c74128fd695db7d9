package performance

import (
	"strings"

	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/schema"
)

// Source kinds (trades.source) and the prefixes of individual source keys.
const (
	KindDiscord     = "discord"
	KindCopy        = "copy"
	KindTradingView = "tradingview"
	KindDashboard   = "dashboard"

	discordPrefix = "discord:"
	copyPrefix    = "copy:"
)

// SourceKey is the key of the individual signal source of a trade of kind
// kind (trades.source): "discord:<discord source id>" for a Discord
// follower's trade (its signal's external id is "<user>:<message id>…",
// the message names the source), "copy:<leader user id>" for a copied
// trade (its copy order names the leader), else the kind itself
// ("tradingview": the trader's webhook, "dashboard"). A Discord or copy
// trade whose source cannot be found (not a fan-out or copy order: an exit
// the platform sent for it) keeps the kind.
func SourceKey(tx *gorm.DB, userID, tradeID, kind string) (string, error) {
	if tradeID == "" {
		return kind, nil
	}
	switch kind {
	case KindCopy:
		var leaders []string
		if err := tx.Model(&schema.CopyOrder{}).Where("trade_id = ? AND follower_id = ?", tradeID, userID).
			Limit(1).Pluck("leader_id", &leaders).Error; err != nil {
			return "", err
		}
		if len(leaders) == 1 && leaders[0] != "" {
			return copyPrefix + leaders[0], nil
		}
	case KindDiscord:
		var ext []string
		if err := tx.Model(&schema.Signal{}).Joins("JOIN trades ON trades.signal_id = signals.id").
			Where("trades.id = ?", tradeID).Limit(1).Pluck("signals.external_id", &ext).Error; err != nil {
			return "", err
		}
		if len(ext) == 1 {
			if msg := DiscordMessageID(userID, ext[0]); msg != "" {
				var src []string
				if err := tx.Model(&schema.DiscordMessage{}).Where("message_id = ?", msg).Limit(1).Pluck("source_id", &src).Error; err != nil {
					return "", err
				}
				if len(src) == 1 && src[0] != "" {
					return discordPrefix + src[0], nil
				}
			}
		}
	}
	return kind, nil
}

// DiscordMessageID returns the message id of a follower's fan-out signal
// external id "<userID>:<messageID>" or "<userID>:<messageID>/<leg>", or
// "" for any other external id.
func DiscordMessageID(userID, externalID string) string {
	rest, ok := strings.CutPrefix(externalID, userID+":")
	if !ok {
		return ""
	}
	rest, _, _ = strings.Cut(rest, "/")
	return rest
}

// SourceKind is the kind of a source key ("discord:<id>" → discord).
func SourceKind(key string) string {
	kind, _, _ := strings.Cut(key, ":")
	return kind
}

// sourceNames resolves the readable names of source keys at read time
// (a channel or leader renamed shows its new name): the Discord source's
// name, "Copy: <leader display name>", "TradingView webhook", "Dashboard".
// A source that no longer exists keeps a label of its kind. Only the keys
// given (the trader's own lots and aggregates) are looked up.
func sourceNames(tx *gorm.DB, keys []string) (map[string]string, error) {
	var discordIDs, leaderIDs []string
	for _, k := range keys {
		if id, ok := strings.CutPrefix(k, discordPrefix); ok {
			discordIDs = append(discordIDs, id)
		} else if id, ok := strings.CutPrefix(k, copyPrefix); ok {
			leaderIDs = append(leaderIDs, id)
		}
	}
	channel, leader := map[string]string{}, map[string]string{}
	if len(discordIDs) > 0 {
		var rows []schema.DiscordSource
		if err := tx.Select("id", "name").Where("id IN ?", discordIDs).Find(&rows).Error; err != nil {
			return nil, err
		}
		for _, r := range rows {
			channel[r.ID] = r.Name
		}
	}
	if len(leaderIDs) > 0 {
		var rows []schema.CopyLeader
		if err := tx.Select("user_id", "display_name").Where("user_id IN ?", leaderIDs).Find(&rows).Error; err != nil {
			return nil, err
		}
		for _, r := range rows {
			leader[r.UserID] = r.DisplayName
		}
	}
	names := make(map[string]string, len(keys))
	for _, k := range keys {
		names[k] = sourceName(k, channel, leader)
	}
	return names, nil
}

// sourceName is the label of one source key given the names found.
func sourceName(key string, channel, leader map[string]string) string {
	if id, ok := strings.CutPrefix(key, discordPrefix); ok {
		if n := channel[id]; n != "" {
			return n
		}
		return "Discord channel (removed)"
	}
	if id, ok := strings.CutPrefix(key, copyPrefix); ok {
		if n := leader[id]; n != "" {
			return "Copy: " + n
		}
		return "Copy: leader no longer listed"
	}
	switch key {
	case KindTradingView:
		return "TradingView webhook"
	case KindDashboard:
		return "Dashboard"
	case KindDiscord:
		return "Discord"
	case KindCopy:
		return "Copy trading"
	case "":
		return "Unknown source"
	}
	return key
}
