-- depends: 0011.event-positions-side-table
-- Who holds a delivery's lease (one token per claim): the holder renews its claim on a line as it sends,
-- and a worker whose line was taken over finds another holder there and stops.
ALTER TABLE webhook_deliveries ADD COLUMN leased_by text;
