import { describe, expect, it } from "vitest";
import type { RegistrationQuery, RegistrationRow } from "../../src/lib/backend";
import { PAGE_SIZE, PageCache } from "../../src/lib/registrations/pages";

const base = { status: null, target_chip: null, search: null, sort: "created_at" as const, descending: false };

function row(index: number): RegistrationRow {
  return {
    node_id: `node${String(index).padStart(12, "0")}`,
    download_id: "",
    status: "available",
    target_chip: "esp32c3",
    created_at: "",
    provisioned_at: null,
    assignment: null,
    house_slug: null,
    metadata_json: null,
    has_legacy_token: false,
  };
}

function loader(total: number, requests: RegistrationQuery[]) {
  return async (query: RegistrationQuery) => {
    requests.push(query);
    const items = [];
    for (let i = query.offset; i < Math.min(total, query.offset + query.limit); i++) items.push(row(i));
    return { items, total };
  };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("PageCache", () => {
  it("fetches only the pages in view, once", async () => {
    const requests: RegistrationQuery[] = [];
    const cache = new PageCache(loader(100_000, requests), () => {}, () => {});
    cache.ensure(base, 0, 50);
    cache.ensure(base, 10, 60);
    await settle();
    expect(requests.map((query) => query.offset)).toEqual([0]);

    cache.ensure(base, PAGE_SIZE * 250 - 5, PAGE_SIZE * 250 + 5);
    await settle();
    expect(requests.map((query) => query.offset)).toEqual([0, PAGE_SIZE * 249, PAGE_SIZE * 250]);
    expect(cache.row(PAGE_SIZE * 250)?.node_id).toBe(row(PAGE_SIZE * 250).node_id);
    expect(cache.total).toBe(100_000);
  });

  it("drops answers from before a reset", async () => {
    const requests: RegistrationQuery[] = [];
    const cache = new PageCache(loader(10, requests), () => {}, () => {});
    cache.ensure(base, 0, 5);
    cache.reset();
    await settle();
    expect(cache.row(0)).toBeUndefined();
    expect(cache.total).toBeNull();
  });
});
