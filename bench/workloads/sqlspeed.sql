-- sqlspeed.sql: bench/speed's sqlite3 workload.  Run as
--   sqlite3 :memory: '.parameter set @orders 180000' '.read sqlspeed.sql'
-- (@orders scales the work: customers are @orders / 6, re-orders @orders / 5).
-- An in-memory database (every page is a malloc'd block): bulk load of
-- generated rows, indexes, grouping, joins, sorting, updates, deletes.
-- Deterministic (no random(): the rows come from a multiplicative hash of
-- the row number), so every allocator does the same work and must print
-- the same RESULT lines, which the driver compares.
PRAGMA cache_size = -400000;
CREATE TABLE customer(id INTEGER PRIMARY KEY, name TEXT, city TEXT, score REAL);
CREATE TABLE orders(id INTEGER PRIMARY KEY, customer INTEGER, item TEXT, qty INTEGER,
                    price REAL, note TEXT);
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < @orders / 6)
INSERT INTO customer
SELECT i, printf('cust-%08x', (i * 2654435761) % 4294967296),
       'city' || ((i * 40503) % 97), ((i * 69069) % 10007) / 100.0 FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < @orders)
INSERT INTO orders
SELECT i, 1 + (i * 7919) % (@orders / 6), printf('item-%05d', (i * 104729) % 20011), 1 + i % 13,
       ((i * 2246822519) % 100000) / 100.0,
       substr('lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor',
              1 + i % 40, 10 + (i * 31) % 60) FROM n;
COMMIT;
CREATE INDEX orders_customer ON orders(customer);
CREATE INDEX orders_item ON orders(item, price);
CREATE INDEX customer_city ON customer(city, score);

SELECT 'RESULT by_city=' || group_concat(c || ':' || n || ':' || printf('%.2f', s), ',') FROM (
  SELECT cu.city AS c, count(*) AS n, sum(o.qty * o.price) AS s
  FROM orders o JOIN customer cu ON cu.id = o.customer GROUP BY cu.city ORDER BY s DESC LIMIT 10);
SELECT 'RESULT top_items=' || group_concat(item || ':' || q, ',') FROM (
  SELECT item, sum(qty) AS q FROM orders GROUP BY item ORDER BY q DESC, item LIMIT 20);
SELECT 'RESULT notes=' || count(DISTINCT note) || ':' || sum(length(note)) FROM orders;
SELECT 'RESULT best_customers=' || group_concat(name, ',') FROM (
  SELECT cu.name FROM customer cu
  WHERE cu.id IN (SELECT customer FROM orders WHERE price > 990 GROUP BY customer HAVING count(*) > 1)
  ORDER BY cu.score DESC, cu.name LIMIT 15);

BEGIN;
UPDATE orders SET note = note || ' (revised ' || id || ')', price = price * 1.05 WHERE id % 3 = 0;
DELETE FROM orders WHERE qty = 7 OR customer % 11 = 0;
WITH RECURSIVE n(i) AS (SELECT @orders + 1 UNION ALL SELECT i + 1 FROM n WHERE i < @orders + @orders / 5)
INSERT INTO orders
SELECT i, 1 + (i * 7919) % (@orders / 6), printf('item-%05d', (i * 104729) % 20011), 1 + i % 13,
       ((i * 2246822519) % 100000) / 100.0, printf('reorder %d of %s', i, hex(i * 2654435761))
FROM n;
COMMIT;

CREATE TEMP TABLE ranked AS
  SELECT customer, sum(qty * price) AS total, count(*) AS n FROM orders GROUP BY customer;
SELECT 'RESULT ranked=' || count(*) || ':' || printf('%.2f', sum(total)) || ':' || max(n) FROM ranked;
SELECT 'RESULT median_price=' || printf('%.2f', price) FROM orders ORDER BY price, id
  LIMIT 1 OFFSET (SELECT count(*) / 2 FROM orders);
SELECT 'RESULT sorted=' || group_concat(x, ',') FROM (
  SELECT substr(note, 1, 12) || '/' || item AS x FROM orders ORDER BY note DESC, item, id LIMIT 8);
SELECT 'RESULT checksum=' || (sum(id * qty) % 1000000007) || ':' || count(*) FROM orders;
