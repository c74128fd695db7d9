package worker

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	sdkworker "go.temporal.io/sdk/worker"
)

// workflowSlots is the worker's workflow-task slot supplier: the SDK's
// fixed number of slots, counting the tasks in work (a trade's first task
// holds its slot while its local activities run). The channel fan-out
// waits on it (WaitRoom) before starting more trades, so a signal to 1,000
// followers keeps a bounded number of trades in flight on this worker
// instead of queueing 1,000 at once behind the database: queued that deep,
// a trade's local activities outlast 80% of its workflow task timeout and
// the SDK heartbeats the task (a second workflow task per trade, measured:
// 2 instead of 1 in the 1,000-follower bench).
type workflowSlots struct {
	inner sdkworker.SlotSupplier
	// room: WaitRoom returns once fewer tasks than this are in work, or
	// after maxWait (a throttle, never a gate: tasks waiting on slow
	// local activities do not stop a fan-out).
	room    int
	maxWait time.Duration

	mu      sync.Mutex
	busy    int
	changed chan struct{} // closed and replaced when a task ends
}

// slotUse marks a permit whose slot processes a task.
type slotUse struct{ used atomic.Bool }

func newWorkflowSlots(slots, room int, maxWait time.Duration) (*workflowSlots, error) {
	inner, err := sdkworker.NewFixedSizeSlotSupplier(slots)
	if err != nil {
		return nil, err
	}
	return &workflowSlots{inner: inner, room: room, maxWait: maxWait, changed: make(chan struct{})}, nil
}

func (s *workflowSlots) ReserveSlot(ctx context.Context, info sdkworker.SlotReservationInfo) (*sdkworker.SlotPermit, error) {
	p, err := s.inner.ReserveSlot(ctx, info)
	if p != nil {
		p.UserData = &slotUse{}
	}
	return p, err
}

func (s *workflowSlots) TryReserveSlot(info sdkworker.SlotReservationInfo) *sdkworker.SlotPermit {
	p := s.inner.TryReserveSlot(info)
	if p != nil {
		p.UserData = &slotUse{}
	}
	return p
}

func (s *workflowSlots) MarkSlotUsed(info sdkworker.SlotMarkUsedInfo) {
	if u, ok := info.Permit().UserData.(*slotUse); ok && u.used.CompareAndSwap(false, true) {
		s.add(1)
	}
	s.inner.MarkSlotUsed(info)
}

func (s *workflowSlots) ReleaseSlot(info sdkworker.SlotReleaseInfo) {
	if u, ok := info.Permit().UserData.(*slotUse); ok && u.used.CompareAndSwap(true, false) {
		s.add(-1)
	}
	s.inner.ReleaseSlot(info)
}

func (s *workflowSlots) MaxSlots() int { return s.inner.MaxSlots() }

func (s *workflowSlots) add(d int) {
	s.mu.Lock()
	s.busy += d
	if d < 0 {
		close(s.changed)
		s.changed = make(chan struct{})
	}
	s.mu.Unlock()
}

// Busy is the number of workflow tasks in work.
func (s *workflowSlots) Busy() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.busy
}

// WaitRoom returns once fewer than room workflow tasks are in work, after
// maxWait, or when ctx ends.
func (s *workflowSlots) WaitRoom(ctx context.Context) {
	deadline := time.NewTimer(s.maxWait)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		if s.busy < s.room {
			s.mu.Unlock()
			return
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			return
		case <-ctx.Done():
			return
		}
	}
}
