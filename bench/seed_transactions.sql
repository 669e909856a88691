-- Seeds a finsync store for bench/list_load.sh: two sandbox connections, ten bank accounts and
-- @rows bank transactions spread over the two years 2023-01-01..2024-12-31,
-- in date order, as a sync would have stored them.
--
-- Run it with the sqlite3 CLI on a store whose schema exists (`finsync user create` migrates
-- it) and whose only user has id 1, with the row count as parameter @rows:
--   sqlite3 -bail -cmd '.parameter set @rows 1000000' DB < bench/seed_transactions.sql
--
-- Everything is a function of the row number, so every run produces the same rows. Row i gets:
--   - one of 64 counterparties (card payments at ~40 merchants, rent, salary, refunds,
--     subscriptions, transfers, fees), with its payee, creditor or debtor, remittance text with
--     a per-row reference, merchant category and bank transaction code;
--   - an amount in cents within that counterparty's range, negative for money going out;
--   - one of ten accounts (8 in EUR, 1 USD, 1 GBP), ~3% PENDING (no booking date);
--   - transaction_id unique per account and a raw_payload shaped like the sandbox bank's
--     Berlin Group record (~400 bytes), so the list endpoint embeds realistic JSON.
-- The accounts have sync_auto = 0 and the user no retention, so the server's scheduler and
-- retention job touch none of it while the benchmark runs.

PRAGMA synchronous = OFF;
PRAGMA cache_size = -262144;

BEGIN;

INSERT INTO bank_connections (id, user_id, institution_id, integrator, consent_reference,
  status, max_historical_days, access_valid_for_days, consent_expires_at, created_at,
  updated_at)
VALUES
  (1, 1, 'SANDBOX_SANDBOXBANK_SBOXDEFF', 'sandbox', 'bench-consent-1', 'LN', 730, 180,
   4102444800000, 1672531200000, 1672531200000),
  (2, 1, 'SANDBOX_NORDBANK_SBOXNOFF', 'sandbox', 'bench-consent-2', 'LN', 730, 180,
   4102444800000, 1672531200000, 1672531200000);

WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < 10)
INSERT INTO bank_accounts (id, user_id, bank_connection_id, integrator_id, name, iban,
  owner_name, currency, product_name, sync_start_date, sync_auto,
  fields_for_duplicate_filtering, created_at, updated_at)
SELECT n, 1, CASE WHEN n <= 5 THEN 1 ELSE 2 END, printf('bench-account-%02d', n),
  CASE n WHEN 9 THEN 'US Dollar account' WHEN 10 THEN 'Sterling account'
         ELSE printf('Girokonto %d', n) END,
  printf('DE%02d5001051700%08d', 10 + n, 64823100 + n), 'Alex Bench',
  CASE n WHEN 9 THEN 'USD' WHEN 10 THEN 'GBP' ELSE 'EUR' END,
  CASE WHEN n % 3 = 0 THEN 'Tagesgeld' ELSE 'Girokonto' END, '2023-01-01', 0,
  '["date","amount","currency","creditor_name","debtor_name",'
    || '"remittance_information_unstructured"]',
  1672531200000, 1672531200000
FROM k;

-- Counterparties, one per slot 0..63; frequent merchants take several slots. sign is -1 for
-- money going out, 1 for money coming in; amounts are cents within [low, high).
CREATE TEMP TABLE counterparty (
  slot INTEGER PRIMARY KEY, name TEXT, remittance TEXT, mcc TEXT, code TEXT,
  low INTEGER, high INTEGER, sign INTEGER);
INSERT INTO counterparty VALUES
  (0, 'REWE Markt GmbH', 'REWE SAGT DANKE', '5411', 'PMNT-CCRD-POSD', 250, 12000, -1),
  (1, 'REWE Markt GmbH', 'REWE SAGT DANKE', '5411', 'PMNT-CCRD-POSD', 250, 12000, -1),
  (2, 'EDEKA Center', 'EDEKA KARTENZAHLUNG', '5411', 'PMNT-CCRD-POSD', 180, 9500, -1),
  (3, 'EDEKA Center', 'EDEKA KARTENZAHLUNG', '5411', 'PMNT-CCRD-POSD', 180, 9500, -1),
  (4, 'Lidl Dienstleistung GmbH', 'LIDL SAGT DANKE', '5411', 'PMNT-CCRD-POSD', 120, 7000, -1),
  (5, 'ALDI SUED', 'ALDI SUED FILIALE', '5411', 'PMNT-CCRD-POSD', 120, 6500, -1),
  (6, 'dm-drogerie markt', 'DM FIL. KARTENZAHLUNG', '5912', 'PMNT-CCRD-POSD', 150, 4500, -1),
  (7, 'Rossmann', 'ROSSMANN SAGT DANKE', '5912', 'PMNT-CCRD-POSD', 150, 3500, -1),
  (8, 'Amazon EU S.a.r.l.', 'AMAZON.DE MARKETPLACE', '5942', 'PMNT-CCRD-POSD', 599, 18000, -1),
  (9, 'Amazon EU S.a.r.l.', 'AMZN Mktp DE', '5942', 'PMNT-CCRD-POSD', 599, 18000, -1),
  (10, 'Zalando SE', 'ZALANDO SE BESTELLUNG', '5651', 'PMNT-CCRD-POSD', 1995, 24000, -1),
  (11, 'IKEA Deutschland', 'IKEA KARTENZAHLUNG', '5712', 'PMNT-CCRD-POSD', 300, 45000, -1),
  (12, 'MediaMarkt', 'MEDIA MARKT SATURN', '5732', 'PMNT-CCRD-POSD', 999, 80000, -1),
  (13, 'Shell Deutschland', 'SHELL TANKSTELLE', '5541', 'PMNT-CCRD-POSD', 2000, 9500, -1),
  (14, 'Aral AG', 'ARAL STATION', '5541', 'PMNT-CCRD-POSD', 2000, 9500, -1),
  (15, 'Deutsche Bahn', 'DB VERTRIEB GMBH FAHRKARTE', '4112', 'PMNT-CCRD-POSD', 490, 15900,
   -1),
  (16, 'BVG Berliner Verkehrsbetriebe', 'BVG FAHRSCHEIN', '4111', 'PMNT-CCRD-POSD', 300, 8600,
   -1),
  (17, 'Lieferando', 'LIEFERANDO.DE BESTELLUNG', '5814', 'PMNT-CCRD-POSD', 1200, 5500, -1),
  (18, 'Starbucks', 'STARBUCKS COFFEE', '5814', 'PMNT-CCRD-POSD', 290, 1400, -1),
  (19, 'McDonalds', 'MCDONALDS RESTAURANT', '5814', 'PMNT-CCRD-POSD', 399, 2500, -1),
  (20, 'Back-Factory', 'BACKWERK FILIALE', '5462', 'PMNT-CCRD-POSD', 150, 1200, -1),
  (21, 'Apotheke am Markt', 'APOTHEKE AM MARKT', '5912', 'PMNT-CCRD-POSD', 450, 6000, -1),
  (22, 'Decathlon', 'DECATHLON DEUTSCHLAND', '5941', 'PMNT-CCRD-POSD', 599, 20000, -1),
  (23, 'H&M Hennes & Mauritz', 'H+M KARTENZAHLUNG', '5651', 'PMNT-CCRD-POSD', 799, 12000, -1),
  (24, 'OBI Baumarkt', 'OBI MARKT KARTENZAHLUNG', '5200', 'PMNT-CCRD-POSD', 350, 30000, -1),
  (25, 'Uber BV', 'UBER TRIP HELP.UBER.COM', '4121', 'PMNT-CCRD-POSD', 800, 4500, -1),
  (26, 'Booking.com', 'BOOKING.COM HOTEL RESERVATION', '7011', 'PMNT-CCRD-POSD', 6000,
   60000, -1),
  (27, 'Ryanair', 'RYANAIR FLIGHT BOOKING', '4511', 'PMNT-CCRD-POSD', 2999, 35000, -1),
  (28, 'Apple', 'APPLE.COM/BILL', '5818', 'PMNT-CCRD-POSD', 99, 1499, -1),
  (29, 'Google', 'GOOGLE *Google One', '5818', 'PMNT-CCRD-POSD', 199, 999, -1),
  (30, 'Spotify AB', 'Spotify P2A4C8 Premium', '4899', 'PMNT-RCDT-ESCT', 1099, 1799, -1),
  (31, 'Netflix International B.V.', 'NETFLIX.COM Abo', '4899', 'PMNT-RCDT-ESCT', 799, 1799,
   -1),
  (32, 'Telekom Deutschland GmbH', 'Telekom Mobilfunk Rechnung', '4814', 'PMNT-IDDT-ESDD',
   2995, 5995, -1),
  (33, 'Vodafone GmbH', 'Vodafone Kabel Deutschland Rechnung', '4814', 'PMNT-IDDT-ESDD',
   2999, 4999, -1),
  (34, 'Stadtwerke Muenchen', 'Abschlag Strom und Gas', '4900', 'PMNT-IDDT-ESDD', 6500,
   16000, -1),
  (35, 'Allianz Versicherungs-AG', 'Beitrag Hausratversicherung', '6300', 'PMNT-IDDT-ESDD',
   900, 4500, -1),
  (36, 'HUK-COBURG', 'Kfz-Versicherung Beitrag', '6300', 'PMNT-IDDT-ESDD', 3500, 9500, -1),
  (37, 'Rundfunk ARD ZDF DRadio', 'Rundfunkbeitrag Beitragsnummer', '9399', 'PMNT-IDDT-ESDD',
   5508, 5509, -1),
  (38, 'Urban Sports GmbH', 'Urban Sports Club Mitgliedschaft', '7997', 'PMNT-IDDT-ESDD',
   3900, 11900, -1),
  (39, 'Hausverwaltung Schmidt', 'Miete Wohnung 3.OG links', '6513', 'PMNT-ICDT-STDO',
   85000, 145000, -1),
  (40, 'Acme Software GmbH', 'Gehalt Lohn', '', 'PMNT-RCDT-SALA', 280000, 420000, 1),
  (41, 'Finanzamt Berlin', 'Steuererstattung Einkommensteuer', '9311', 'PMNT-RCDT-ESCT',
   5000, 150000, 1),
  (42, 'Amazon EU S.a.r.l.', 'Erstattung AMAZON.DE', '5942', 'PMNT-RCDT-ESCT', 599, 9000, 1),
  (43, 'Zalando SE', 'Gutschrift Retoure ZALANDO', '5651', 'PMNT-RCDT-ESCT', 1995, 12000, 1),
  (44, 'PayPal Europe', 'PayPal Ueberweisung', '', 'PMNT-RCDT-ESCT', 500, 25000, 1),
  (45, 'PayPal Europe', 'PP.1234.PP . Ihr Einkauf bei', '', 'PMNT-IDDT-ESDD', 500, 25000,
   -1),
  (46, 'Jonas Weber', 'Anteil Urlaub Danke', '', 'PMNT-RCDT-ESCT', 1000, 40000, 1),
  (47, 'Maria Schneider', 'Geburtstagsgeschenk', '', 'PMNT-ICDT-ESCT', 1000, 10000, -1),
  (48, 'Lukas Fischer', 'Miete Garage', '', 'PMNT-RCDT-ESCT', 5000, 9000, 1),
  (49, 'Sparkonto Alex Bench', 'Umbuchung Sparen', '', 'PMNT-ICDT-BOOK', 5000, 100000, -1),
  (50, 'Sparkonto Alex Bench', 'Umbuchung vom Tagesgeld', '', 'PMNT-RCDT-BOOK', 5000, 100000,
   1),
  (51, 'Bargeldauszahlung', 'GA NR00012345 BLZ50010517 Bargeld', '6011', 'CAMT-CCRD-CWDL',
   2000, 40000, -1),
  (52, 'Bargeldauszahlung', 'Geldautomat Sparkasse Bargeld', '6011', 'CAMT-CCRD-CWDL', 2000,
   30000, -1),
  (53, 'Kontofuehrung', 'Entgelt Kontofuehrung', '', 'ACMT-MDOP-CHRG', 490, 991, -1),
  (54, 'Zinsen', 'Habenzinsen Abschluss', '', 'ACMT-MDOP-INTR', 1, 5000, 1),
  (55, 'Edeka Nord', 'EDEKA NORD KARTENZAHLUNG', '5411', 'PMNT-CCRD-POSD', 180, 9500, -1),
  (56, 'Penny Markt', 'PENNY MARKT SAGT DANKE', '5411', 'PMNT-CCRD-POSD', 120, 6500, -1),
  (57, 'Kaufland', 'KAUFLAND FILIALE', '5411', 'PMNT-CCRD-POSD', 200, 11000, -1),
  (58, 'Thalia Buecher', 'THALIA BUCHHANDLUNG', '5942', 'PMNT-CCRD-POSD', 899, 6000, -1),
  (59, 'Cinemaxx', 'CINEMAXX KINO', '7832', 'PMNT-CCRD-POSD', 1100, 4800, -1),
  (60, 'Tier Mobility', 'TIER E-SCOOTER RIDE', '4121', 'PMNT-CCRD-POSD', 150, 900, -1),
  (61, 'Hotel Adlon Kempinski', 'HOTEL ADLON BERLIN', '7011', 'PMNT-CCRD-POSD', 18000,
   90000, -1),
  (62, 'Wolt Enterprises', 'WOLT DELIVERY', '5814', 'PMNT-CCRD-POSD', 1500, 6000, -1),
  (63, 'Steam Games', 'STEAMGAMES.COM 4259522985', '5816', 'PMNT-CCRD-POSD', 199, 6999, -1);

-- The per-row numbers first (a materialised CTE keeps the hashing in one place), then the
-- text built from them.
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < @rows),
numbered AS MATERIALIZED (
  SELECT i,
    (i * 2654435761) % 4294967296 AS h1,
    (i * 1597334677 + 1013904223) % 4294967296 AS h2,
    (i - 1) * 731 / @rows AS day
  FROM n),
picked AS (
  SELECT i, h1, h2, day,
    1 + (h2 >> 12) % 10 AS account,
    (h1 >> 8) % 64 AS slot,
    (h1 >> 20) % 100 < 3 AS pending,
    date('2023-01-01', '+' || day || ' days') AS on_date,
    1672531200 + day * 86400 + 21600 + (h2 >> 6) % 57600 AS at_second
  FROM numbered),
shaped AS (
  SELECT p.*, c.name, c.mcc, c.code, c.sign,
    c.remittance || ' ' || printf('%06d', (p.h2 >> 3) % 1000000) AS remittance,
    c.sign * (c.low + (p.h1 >> 4) % (c.high - c.low)) AS amount_minor,
    CASE p.account WHEN 9 THEN 'USD' WHEN 10 THEN 'GBP' ELSE 'EUR' END AS currency,
    printf('TX%02d%09d', p.account, p.i) AS transaction_id
  FROM picked p JOIN counterparty c ON c.slot = p.slot)
INSERT INTO bank_transactions (id, user_id, bank_account_id, status, transaction_id,
  internal_transaction_id, entry_reference, booking_date, value_date, booking_datetime,
  value_datetime, amount_minor, currency, creditor_name, creditor_iban, debtor_name,
  debtor_iban, remittance_unstructured, remittance_structured, additional_information,
  bank_transaction_code, merchant_category_code, generated_payee, generated_description,
  generated_date, source, raw_payload, content_key, fingerprint, created_at, updated_at)
SELECT i, 1, account,
  CASE WHEN pending THEN 'PENDING' ELSE 'BOOKED' END,
  transaction_id,
  printf('%08x%08x%08x', h1, h2, i),
  printf('ER%010d', i),
  CASE WHEN pending THEN NULL ELSE on_date END,
  on_date,
  CASE WHEN pending THEN NULL ELSE at_second * 1000 END,
  at_second * 1000,
  amount_minor,
  currency,
  CASE WHEN sign < 0 THEN name ELSE 'Alex Bench' END,
  CASE WHEN sign < 0 AND mcc = '' THEN printf('DE%02d1001001012345%05d', 10 + slot, h2 % 99999)
       ELSE '' END,
  CASE WHEN sign > 0 THEN name ELSE '' END,
  CASE WHEN sign > 0 AND mcc = '' THEN printf('DE%02d2005001012345%05d', 10 + slot, h1 % 99999)
       ELSE '' END,
  remittance,
  CASE WHEN slot IN (32, 33, 34, 35, 36, 37) THEN printf('RF%02d%012d', h1 % 97, h2) ELSE '' END,
  CASE WHEN mcc <> '' AND sign < 0 THEN 'Kartenzahlung girocard' ELSE '' END,
  code,
  mcc,
  name,
  remittance,
  on_date,
  'sandbox',
  json_object(
    'transactionId', transaction_id,
    'internalTransactionId', printf('%08x%08x%08x', h1, h2, i),
    'bookingDate', CASE WHEN pending THEN NULL ELSE on_date END,
    'valueDate', on_date,
    'valueDateTime', strftime('%Y-%m-%dT%H:%M:%SZ', at_second, 'unixepoch'),
    'transactionAmount', json_object(
      'amount', printf('%s%d.%02d', CASE WHEN amount_minor < 0 THEN '-' ELSE '' END,
                       abs(amount_minor) / 100, abs(amount_minor) % 100),
      'currency', currency),
    CASE WHEN sign < 0 THEN 'creditorName' ELSE 'debtorName' END, name,
    'remittanceInformationUnstructured', remittance,
    'bankTransactionCode', code,
    'merchantCategoryCode', mcc),
  printf('%016x%016x', h1, h2),
  printf('%016x%016x', h2, h1),
  at_second * 1000 + 3600000,
  at_second * 1000 + 3600000
FROM shaped
ORDER BY i;

COMMIT;

DROP TABLE counterparty;
ANALYZE;
PRAGMA wal_checkpoint(TRUNCATE);
