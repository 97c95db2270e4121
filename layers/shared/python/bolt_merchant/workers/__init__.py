"""The outbox publisher and the fan-out consumers: Powertools batch processing around the domain calls.

Records are reported one by one (partial batch responses), so a bad record is retried on its own and reaches its
dead-letter destination without taking the rest of the batch along. One module per function.
"""
