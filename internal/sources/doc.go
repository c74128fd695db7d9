// Package sources holds the rules of Discord signal sources: registering a
// channel as a source and naming who may post signals there, traders
// following a source with their own sizing (and an optional paper-only
// shadow mode), the size of each follower's copy of a signal, the
// traders' notification preferences, and the queue of outgoing Discord
// messages that the bot delivers. The bot (slash commands), the API
// (dashboard) and the fan-out activities all go through it.
package sources
