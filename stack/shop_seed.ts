/**
 * A sample drop-shipping shop for the demo and tests: products, profiles, orders and order
 * items in `public` (with RLS, as a Supabase app has), users in `auth.users`, and Storage
 * buckets of product images, avatars and documents — rows in `storage.buckets` /
 * `storage.objects` and the files themselves in an S3-protocol store.
 *
 * @module
 */
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import postgres from "postgres";

/** Where the shop's Storage files live (the local stand-in for Supabase Storage's S3 endpoint). */
export interface StorageEndpoint {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  createBucket(name: string): Promise<void>;
}

/** What was seeded. */
export interface SeededShop {
  products: number;
  customers: number;
  orders: number;
  objects: number;
  buckets: string[];
}

const SCHEMA = `
create type public.order_status as enum ('pending', 'paid', 'shipped', 'delivered', 'refunded');
create table public.profiles (
  id uuid primary key references auth.users (id) on delete cascade,
  display_name text not null,
  avatar_path text,
  country char(2)
);
create table public.products (
  id bigint generated always as identity primary key,
  sku text not null unique,
  name text not null,
  description text,
  price numeric(10, 2) not null check (price >= 0),
  tags text[] not null default '{}',
  attributes jsonb not null default '{}'::jsonb,
  image_path text,
  created_at timestamptz not null default now()
);
create table public.orders (
  id bigint generated always as identity primary key,
  customer_id uuid not null references public.profiles (id),
  status public.order_status not null default 'pending',
  total numeric(12, 2) not null default 0,
  placed_at timestamptz not null default now()
);
create table public.order_items (
  order_id bigint not null references public.orders (id) on delete cascade,
  product_id bigint not null references public.products (id),
  quantity integer not null check (quantity > 0),
  unit_price numeric(10, 2) not null,
  primary key (order_id, product_id)
);
create index orders_customer_idx on public.orders (customer_id, placed_at desc);
create index products_tags_idx on public.products using gin (tags);
alter table public.profiles enable row level security;
alter table public.orders enable row level security;
create policy "own profile" on public.profiles for all to authenticated
  using (id = (select auth.uid()));
create policy "own orders" on public.orders for select to authenticated
  using (customer_id = (select auth.uid()));
alter table public.products enable row level security;
create policy "catalogue is public" on public.products for select to anon, authenticated
  using (true);
`;

/** Seeds the shop's database rows (and, with `storage`, its buckets and files). */
export async function seedShop(
  databaseUrl: string,
  options: { products?: number; customers?: number; orders?: number; storage?: StorageEndpoint } =
    {},
): Promise<SeededShop> {
  const products = options.products ?? 500;
  const customers = options.customers ?? 200;
  const orders = options.orders ?? 2_000;
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(SCHEMA);
    await sql`
      insert into auth.users (id, aud, role, email, raw_app_meta_data, raw_user_meta_data)
      select gen_random_uuid(), 'authenticated', 'authenticated', 'customer' || i || '@example.com',
             '{"provider":"email"}', jsonb_build_object('name', 'Customer ' || i)
      from generate_series(1, ${customers}) i`;
    await sql`
      insert into public.profiles (id, display_name, avatar_path, country)
      select id, raw_user_meta_data ->> 'name', 'avatars/' || id || '.png',
             (array['FR','DE','US','JP','BR'])[1 + (row_number() over ()) % 5]
      from auth.users`;
    await sql`
      insert into public.products (sku, name, description, price, tags, attributes, image_path)
      select 'SKU-' || lpad(i::text, 6, '0'), 'Product ' || i,
             repeat('A fine product, ships worldwide. ', 1 + i % 7),
             round((5 + (i * 7919) % 500)::numeric + 0.99, 2),
             array['tag' || i % 13, 'tag' || i % 7],
             jsonb_build_object('color', (array['red','green','blue'])[1 + i % 3], 'weight', i % 40),
             'products/' || i || '.jpg'
      from generate_series(1, ${products}) i`;
    await sql`
      insert into public.orders (customer_id, status, placed_at)
      select p.id, (enum_range(null::public.order_status))[1 + i % 5],
             now() - make_interval(hours => i)
      from generate_series(1, ${orders}) i
      join lateral (select id from public.profiles order by id offset (i % ${customers}) limit 1) p
        on true`;
    await sql`
      insert into public.order_items (order_id, product_id, quantity, unit_price)
      select o.id, 1 + (o.id * k) % ${products}, 1 + k, 9.99
      from public.orders o, generate_series(1, 3) k
      on conflict do nothing`;
    await sql`
      update public.orders o set total = s.total
      from (select order_id, sum(quantity * unit_price) total from public.order_items
            group by order_id) s
      where s.order_id = o.id`;
    let objects = 0;
    const buckets = ["product-images", "avatars", "documents"];
    if (options.storage) objects = await seedStorage(sql, options.storage, buckets, products);
    return { products, customers, orders, objects, buckets };
  } finally {
    await sql.end();
  }
}

async function seedStorage(
  sql: postgres.Sql,
  storage: StorageEndpoint,
  buckets: string[],
  products: number,
): Promise<number> {
  const client = new S3Client({
    endpoint: storage.endpoint,
    region: storage.region,
    forcePathStyle: true,
    credentials: { accessKeyId: storage.accessKeyId, secretAccessKey: storage.secretAccessKey },
  });
  try {
    for (const bucket of buckets) {
      await storage.createBucket(bucket);
      await sql`insert into storage.buckets (id, name, public, file_size_limit, allowed_mime_types)
                values (${bucket}, ${bucket}, ${bucket === "product-images"},
                        ${bucket === "documents" ? 10_485_760 : null},
                        ${bucket === "avatars" ? ["image/png"] : null})`;
    }
    const files: Array<{ bucket: string; key: string; type: string; size: number }> = [];
    for (let i = 1; i <= Math.min(products, 120); i++) {
      files.push({
        bucket: "product-images",
        key: `products/${i}.jpg`,
        type: "image/jpeg",
        size: 2_000 + (i * 997) % 60_000,
      });
    }
    for (let i = 1; i <= 40; i++) {
      files.push({
        bucket: "avatars",
        key: `avatars/user ${i}/avatar.png`,
        type: "image/png",
        size: 500 + i * 50,
      });
    }
    files.push({
      bucket: "documents",
      key: "legal/conditions générales.pdf",
      type: "application/pdf",
      size: 300_000,
    });
    files.push({
      bucket: "documents",
      key: "invoices/2026/empty.txt",
      type: "text/plain",
      size: 0,
    });
    let index = 0;
    const worker = async () => {
      while (index < files.length) {
        const file = files[index++];
        const body = new Uint8Array(file.size);
        for (let b = 0; b < body.length; b += 4096) body[b] = (b / 4096 + file.key.length) & 0xff;
        await client.send(
          new PutObjectCommand({
            Bucket: file.bucket,
            Key: file.key,
            Body: body,
            ContentType: file.type,
            CacheControl: "max-age=3600",
            Metadata: { seeded: "true" },
          }),
        );
        await sql`insert into storage.objects (bucket_id, name, metadata)
                  values (${file.bucket}, ${file.key},
                          ${sql.json({ size: file.size, mimetype: file.type })})`;
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    return files.length;
  } finally {
    client.destroy();
  }
}
