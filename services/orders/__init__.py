"""Orders: the lifecycle table, transactional transitions, and the ordering use-cases."""
