package broker

import "context"

// AccountReader is implemented by adapters that read the balance and the
// positions in one call: the paper broker reads its account row once for
// both (the account guard's look and the dashboard's sync after a fill
// read both, every time).
type AccountReader interface {
	GetAccount(ctx context.Context) (Balance, []Position, error)
}

// ReadAccount returns b's balance and positions: in one call where b is an
// AccountReader, else by GetBalance then GetPositions.
func ReadAccount(ctx context.Context, b Broker) (Balance, []Position, error) {
	if r, ok := b.(AccountReader); ok {
		return r.GetAccount(ctx)
	}
	bal, err := b.GetBalance(ctx)
	if err != nil {
		return Balance{}, nil, err
	}
	positions, err := b.GetPositions(ctx)
	if err != nil {
		return Balance{}, nil, err
	}
	return bal, positions, nil
}
