package bot

import (
	"strconv"
	"testing"
	"time"
)

func TestSnowflakeTime(t *testing.T) {
	// Discord's documented example: 175928847299117063 → 2016-04-30 11:18:25.796 UTC.
	got, ok := snowflakeTime("175928847299117063")
	want := time.Date(2016, 4, 30, 11, 18, 25, 796_000_000, time.UTC)
	if !ok || !got.Equal(want) {
		t.Fatalf("snowflakeTime = %v %v, want %v", got, ok, want)
	}
	if _, ok := snowflakeTime("not-an-id"); ok {
		t.Fatal("garbage parsed")
	}
}

func TestOnShard(t *testing.T) {
	g := strconv.FormatUint(7<<22, 10)
	for _, tt := range []struct {
		shard [2]int
		want  bool
	}{{[2]int{0, 1}, true}, {[2]int{1, 2}, true}, {[2]int{0, 2}, false}, {[2]int{3, 4}, true}, {[2]int{2, 4}, false}} {
		if got := onShard(g, tt.shard); got != tt.want {
			t.Errorf("onShard(%s, %v) = %v", g, tt.shard, got)
		}
	}
}
