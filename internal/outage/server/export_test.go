package server

import "context"

// reports counts the raw reports kept.
func (s *Store) reports(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM report`).Scan(&n)
	return n, err
}
