"""A model of what an Airbyte destination holds after the syncs it was sent, for tests.

Append + dedup (an incremental stream): within a sync, per primary key, the record with the
greatest cursor wins, then the last to arrive (a null or unparsable cursor sorts last, as the
destinations' typing and deduping order it); it then replaces the row the destination holds only
if its cursor is newer (or equal, arriving later); a winning deletion record (one carrying
`_ab_cdc_deleted_at`) removes the row. A row the destination no longer holds is simply inserted
again. Overwrite (a full refresh stream): the last sync's records, whole.
"""

from collections import defaultdict
from typing import Optional

from integration_tests.connector import DELETED_AT, instant, key_of


class Destination:
    def __init__(self, cursor_field: str = "updated_at"):
        self.cursor_field = cursor_field
        self.tables: dict = defaultdict(dict)  # stream -> {primary key: (rank, record)}
        self.arrivals = 0

    def load(self, run, incremental_streams) -> "Destination":
        """One sync's records (a connector.Run), in the order the connector emitted them."""
        by_stream: dict = defaultdict(list)
        for message in run.of_type("RECORD"):
            self.arrivals += 1
            by_stream[message["record"]["stream"]].append((self.arrivals, message["record"]["data"]))
        for stream in set(by_stream) | set(incremental_streams):
            if stream in incremental_streams:
                self._merge(stream, by_stream.get(stream, []))
            elif stream in by_stream:  # overwrite (a stream this sync did not read keeps its rows)
                self.tables[stream] = {key_of(stream, r): (self._rank(r, n), r) for n, r in by_stream[stream]}
        return self

    def _rank(self, record: dict, arrival: int) -> tuple:
        moment = instant(record.get(self.cursor_field))
        return (moment is not None, moment.timestamp() if moment else 0.0, arrival)

    def _merge(self, stream: str, records: list) -> None:
        winners: dict = {}
        for arrival, record in records:
            key, rank = key_of(stream, record), self._rank(record, arrival)
            if key not in winners or rank > winners[key][0]:
                winners[key] = (rank, record)
        table = self.tables[stream]
        for key, (rank, record) in winners.items():
            held = table.get(key)
            if held is not None and rank[:2] < held[0][:2]:
                continue  # older than what the destination holds: a deletion too deletes nothing
            if record.get(DELETED_AT) is not None:
                table.pop(key, None)
            else:
                table[key] = (rank, record)

    def ids(self, stream: str) -> set:
        return set(self.tables.get(stream, {}))

    def row(self, stream: str, key) -> Optional[dict]:
        held = self.tables.get(stream, {}).get(key)
        return held[1] if held else None
