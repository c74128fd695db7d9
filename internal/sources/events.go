package sources

// Real-time events (outbox, DESIGN §4) announced by the Discord features,
// and the audit action of a skipped follower.
const (
	// EventSignalSkipped: a source's signal was not executed for the
	// trader; payload {source, messageId, reason}.
	EventSignalSkipped = "signal.skipped"
	// EventNotificationUndelivered: a Discord DM could not be delivered
	// (DMs closed, Discord failing); the dashboard shows it instead.
	// Payload {kind, content, reason}.
	EventNotificationUndelivered = "notification.undelivered"

	// ActionSignalSkipped is the audit action of a skipped follower.
	ActionSignalSkipped = "SIGNAL_SKIPPED"
)
