package bot

import (
	"github.com/bwmarrin/discordgo"

	"github.com/tradeexec/tradeexec/internal/signal"
)

// Slash command names.
const (
	cmdBuy       = "buy"
	cmdSell      = "sell"
	cmdPositions = "positions"
	cmdStatus    = "status"
	cmdCancel    = "cancel"
	cmdApprove   = "approve"
	cmdReject    = "reject"
	cmdFollow    = "follow"
	cmdUnfollow  = "unfollow"
	cmdTradeexec = "tradeexec"

	subRegister      = "register"
	subUnregister    = "unregister"
	subAuthorize     = "authorize"
	subDeauthorize   = "deauthorize"
	subNotifications = "notifications"
)

// Money and quantities are typed as strings: Discord's NUMBER option is a
// JSON double, and a price must never pass through a float.
func stringOpt(name, desc string, required bool, choices ...string) *discordgo.ApplicationCommandOption {
	o := &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString, Name: name, Description: desc, Required: required}
	for _, c := range choices {
		o.Choices = append(o.Choices, &discordgo.ApplicationCommandOptionChoice{Name: c, Value: c})
	}
	return o
}

func boolOpt(name, desc string) *discordgo.ApplicationCommandOption {
	return &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionBoolean, Name: name, Description: desc}
}

func orderOptions() []*discordgo.ApplicationCommandOption {
	return []*discordgo.ApplicationCommandOption{
		stringOpt("symbol", "Ticker or pair: AAPL, $TSLA, BTC-USD", true),
		stringOpt("quantity", "Shares or units, e.g. 100 or 0.5", true),
		stringOpt("order_type", "Order type (default market)", false, "market", "limit", "stop", "stop_limit"),
		stringOpt("price", "Limit price (limit), stop price (stop, stop_limit)", false),
		stringOpt("limit_price", "Limit price of a stop_limit order", false),
		stringOpt("stop_loss", "Stop-loss as a price (245.50) or percent (2%)", false),
		stringOpt("take_profit", "Take-profit as a price (260) or percent (5%)", false),
		stringOpt("broker", "Route to this broker instead of your default", false, signal.Brokers()...),
	}
}

func followOptions() []*discordgo.ApplicationCommandOption {
	return []*discordgo.ApplicationCommandOption{
		{Type: discordgo.ApplicationCommandOptionChannel, Name: "source", Description: "Signal channel (default: this channel)",
			ChannelTypes: []discordgo.ChannelType{discordgo.ChannelTypeGuildText}},
		stringOpt("multiplier", "Trade this multiple of the provider's size, e.g. 0.5 (default 1)", false),
		stringOpt("amount", "Or a fixed dollar amount per entry, e.g. 250", false),
		boolOpt("shadow", "Paper only: send the copies to your paper account"),
	}
}

func sourceOption() []*discordgo.ApplicationCommandOption {
	return []*discordgo.ApplicationCommandOption{
		{Type: discordgo.ApplicationCommandOptionChannel, Name: "source", Description: "Signal channel (default: this channel)",
			ChannelTypes: []discordgo.ChannelType{discordgo.ChannelTypeGuildText}},
	}
}

func authorOptions() []*discordgo.ApplicationCommandOption {
	return []*discordgo.ApplicationCommandOption{
		{Type: discordgo.ApplicationCommandOptionUser, Name: "user", Description: "A user who posts signals"},
		{Type: discordgo.ApplicationCommandOptionRole, Name: "role", Description: "A role whose members post signals"},
	}
}

func sub(name, desc string, opts []*discordgo.ApplicationCommandOption) *discordgo.ApplicationCommandOption {
	return &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionSubCommand, Name: name, Description: desc, Options: opts}
}

// commandDefinitions are the application commands the bot registers.
func commandDefinitions() []*discordgo.ApplicationCommand {
	register := append([]*discordgo.ApplicationCommandOption{
		stringOpt("mode", "How signals are written (default strict)", false, "strict", "freeform"),
	}, authorOptions()...)
	register = append(register,
		boolOpt("summary", "Reply under each signal with how many followers it reached (default on)"),
		&discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionInteger, Name: "max_age",
			Description: "Seconds after which a signal is too old to execute (default 60)", MinValue: ptr(1.0), MaxValue: 3600},
	)
	return []*discordgo.ApplicationCommand{
		{Name: cmdBuy, Description: "Buy for your own account", Options: orderOptions()},
		{Name: cmdSell, Description: "Sell for your own account", Options: orderOptions()},
		{Name: cmdPositions, Description: "Your open positions"},
		{Name: cmdStatus, Description: "Your last trades"},
		{Name: cmdCancel, Description: "Cancel one of your open orders (queued, halted or working at the broker)", Options: []*discordgo.ApplicationCommandOption{
			stringOpt("trade", "Trade id from /status (first 8 characters are enough)", true)}},
		{Name: cmdApprove, Description: "Approve a signal waiting for your approval (approval mode)", Options: []*discordgo.ApplicationCommandOption{
			stringOpt("trade", "Trade id from the approval message or /status", true)}},
		{Name: cmdReject, Description: "Reject a signal waiting for your approval", Options: []*discordgo.ApplicationCommandOption{
			stringOpt("trade", "Trade id from the approval message or /status", true)}},
		{Name: cmdFollow, Description: "Copy the signals of a channel", Options: followOptions()},
		{Name: cmdUnfollow, Description: "Stop copying a channel's signals", Options: sourceOption()},
		{Name: cmdTradeexec, Description: "Signal sources and settings", Options: []*discordgo.ApplicationCommandOption{
			sub(subRegister, "Make this channel a signal source (Manage Server)", register),
			sub(subUnregister, "Stop taking signals from this channel", nil),
			sub(subAuthorize, "Allow a user or role to post signals here", authorOptions()),
			sub(subDeauthorize, "No longer take signals from a user or role", authorOptions()),
			sub(cmdFollow, "Copy the signals of a channel", followOptions()),
			sub(cmdUnfollow, "Stop copying a channel's signals", sourceOption()),
			sub(subNotifications, "Choose which DMs you get", []*discordgo.ApplicationCommandOption{
				boolOpt("fills", "Order filled"), boolOpt("rejections", "Order rejected, with the reason"),
				boolOpt("queued", "Order queued for the market open"), boolOpt("stop_loss", "Stop-loss triggered"),
				boolOpt("risk_locks", "Trading locked by a risk limit")}),
		}},
	}
}

func ptr[T any](v T) *T { return &v }

// registerCommands installs the commands (bulk overwrite: idempotent).
func (b *Bot) registerCommands() error {
	_, err := b.rest().ApplicationCommandBulkOverwrite(b.AppID(), b.o.CommandGuildID, commandDefinitions())
	return err
}
