DROP TABLE IF EXISTS webhook_deliveries;
DROP TABLE IF EXISTS webhooks;
DROP TABLE IF EXISTS event_consumers;
DROP TABLE IF EXISTS events_horizon;
DROP TABLE IF EXISTS events;
DROP SEQUENCE IF EXISTS events_position_seq;
