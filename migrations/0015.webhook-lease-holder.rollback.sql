ALTER TABLE webhook_deliveries DROP COLUMN IF EXISTS leased_by;
