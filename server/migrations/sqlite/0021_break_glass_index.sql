-- Break-glass users are few: the card lists them and the last-admin guard looks for one on
-- every principal change, without reading every principal.
CREATE INDEX principals_break_glass ON principals (handle) WHERE break_glass = TRUE;
