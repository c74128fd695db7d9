package market

import "time"

// QueuedMessage is the trader-facing notice for an order held until the market
// opens, in Eastern Time: "Order queued for Monday 9:30am ET". The weekday
// name is used when nextOpen is within the next six days ("today" when it is
// the same day), otherwise the date: "Order queued for Tue Jan 2 9:30am ET".
func QueuedMessage(nextOpen, now time.Time) string {
	at := nextOpen.In(newYork)
	days := dateOf(now.In(newYork)).daysUntil(dateOf(at))
	var day string
	switch {
	case days == 0:
		day = "today"
	case days > 0 && days <= 6:
		day = at.Format("Monday")
	default:
		day = at.Format("Mon Jan 2")
	}
	return "Order queued for " + day + " " + at.Format("3:04pm") + " ET"
}
