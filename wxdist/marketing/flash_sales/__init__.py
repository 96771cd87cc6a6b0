"""Flash sales (秒杀): activities with time slots, activity SKUs with a price and a stock
of their own, a per-user limit per activity and a per-order limit.

A flash-sale order is an activity order of the shop (`shop.activity_orders`): one SKU
line at the activity's price, exclusive of other promotions, with the SKU's own stock
reserved as for any order. Inside the order's transaction the activity takes its stock
and the user's quota by conditional UPDATEs (`service`), and gives both back when an
unpaid order ends (`receivers`). A sold-out activity SKU is flagged in Redis
(`soldout`) so later buyers are answered without touching its row; the database stays
the truth.

May import: `shop`, `catalog`, `accounts`, `core`, `models`.
"""
