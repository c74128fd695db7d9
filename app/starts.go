package app

import (
	"context"

	"github.com/tradeexec/tradeexec/internal/sources"
	"github.com/tradeexec/tradeexec/internal/starts"
	"github.com/tradeexec/tradeexec/internal/trade"
)

// startStartRelay starts, from this process, the workflows of accepted
// signals whose entry point could not (Temporal was unreachable, the
// process died after the commit): every api and worker process runs one
// (internal/starts; rows are claimed, starting is idempotent).
func (s *Stack) startStartRelay(o Options) {
	ctx, cancel := context.WithCancel(context.Background())
	r := &starts.Relay{DB: o.DB, Temporal: o.Temporal, Log: s.log.Named("starts"),
		Expire: map[string]starts.Expirer{starts.KindTrade: trade.ExpireUnstarted, starts.KindDiscord: sources.ExpireSignal}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Run(ctx)
	}()
	s.stopStarts = func() {
		cancel()
		<-done
	}
}
