-- The tool call a decision was about (name, JSON or free-form input): the audit trail names what
-- was blocked, not only the block's index.
ALTER TABLE decisions ADD COLUMN tool_call TEXT;
