// Maps only the module's own code uses are its own storage (docs/language.md,
// "Maps in kernel-module code"). kfuncs run in any context (softirq for XDP
// and tc, with interrupts off for some tracepoints): nothing here sleeps or
// allocates.
//
// A hash map is a table of a fixed number of slots, in static storage.
// Slots are found through chains hanging from `buckets`; every slot in use
// is also on a use list, most recently used first, which an LRU map
// reorders on each lookup and update and evicts from the tail of when full.
// Slot numbers are stored plus one so that zeroed memory is an empty table.
// A raw spinlock (interrupts off) guards the chains and lists. Values are
// read and written through the pointers lookups return, outside the lock,
// as eBPF's preallocated hash maps do: the memory stays valid, but after a
// delete or an eviction the slot may hold another key. A per-CPU counter
// refuses re-entry on one CPU (a tracing program calling a kfunc while this
// CPU holds a table lock) instead of deadlocking, as the kernel's hash maps
// do (-EBUSY, the lookup finds nothing).

struct __ksc_link {
    u32 next;      // next slot of the bucket's chain, or of the free list
    u32 newer;     // neighbours on the use list
    u32 older;
};

struct __ksc_table {
    raw_spinlock_t lock;
    u32 key_size, value_size, cap, mask;
    bool lru;
    u32 seed;
    u32 count;     // slots in use
    u32 top;       // slots [1, top] were handed out at least once
    u32 free;      // deleted slots, chained through `next`
    u32 newest, oldest;
    u8 *keys;
    u8 *values;    // cap values; NULL for a per-CPU map
    u8 __percpu *pcpu;  // a per-CPU map's values (allocated at init)
    struct __ksc_link *link;
    u32 *buckets;  // mask + 1 chain heads
};

static DEFINE_PER_CPU(int, __ksc_table_busy);

static __maybe_unused bool __ksc_table_lock(struct __ksc_table *t, unsigned long *flags)
{
    local_irq_save(*flags);
    if (this_cpu_inc_return(__ksc_table_busy) != 1) {
        this_cpu_dec(__ksc_table_busy);
        local_irq_restore(*flags);
        return false;
    }
    raw_spin_lock(&t->lock);
    return true;
}

static __maybe_unused void __ksc_table_unlock(struct __ksc_table *t, unsigned long flags)
{
    raw_spin_unlock(&t->lock);
    this_cpu_dec(__ksc_table_busy);
    local_irq_restore(flags);
}

// Slot `i`'s value (this CPU's, in a per-CPU map).
static __maybe_unused void *__ksc_table_value(struct __ksc_table *t, u32 i)
{
    u8 *base = t->pcpu ? (u8 *)this_cpu_ptr(t->pcpu) : t->values;
    return base + (size_t)(i - 1) * t->value_size;
}

static __maybe_unused u32 *__ksc_table_bucket(struct __ksc_table *t, const void *key)
{
    return &t->buckets[jhash(key, t->key_size, t->seed) & t->mask];
}

// The slot holding `key`, or 0.
static __maybe_unused u32 __ksc_table_find(struct __ksc_table *t, const void *key)
{
    u32 i = *__ksc_table_bucket(t, key);
    while (i && memcmp(t->keys + (size_t)(i - 1) * t->key_size, key, t->key_size))
        i = t->link[i - 1].next;
    return i;
}

static __maybe_unused void __ksc_table_unlist(struct __ksc_table *t, u32 i)
{
    struct __ksc_link *l = &t->link[i - 1];
    if (l->newer)
        t->link[l->newer - 1].older = l->older;
    else
        t->newest = l->older;
    if (l->older)
        t->link[l->older - 1].newer = l->newer;
    else
        t->oldest = l->newer;
    l->newer = l->older = 0;
}

static __maybe_unused void __ksc_table_list_first(struct __ksc_table *t, u32 i)
{
    struct __ksc_link *l = &t->link[i - 1];
    l->newer = 0;
    l->older = t->newest;
    if (t->newest)
        t->link[t->newest - 1].newer = i;
    else
        t->oldest = i;
    t->newest = i;
}

// A use of slot `i`: an LRU map moves it to the front.
static __maybe_unused void __ksc_table_touch(struct __ksc_table *t, u32 i)
{
    if (t->lru && t->newest != i) {
        __ksc_table_unlist(t, i);
        __ksc_table_list_first(t, i);
    }
}

static __maybe_unused void __ksc_table_remove(struct __ksc_table *t, u32 i)
{
    u32 *p = __ksc_table_bucket(t, t->keys + (size_t)(i - 1) * t->key_size);
    while (*p != i)
        p = &t->link[*p - 1].next;
    *p = t->link[i - 1].next;
    __ksc_table_unlist(t, i);
    t->link[i - 1].next = t->free;
    t->free = i;
    t->count--;
}

// `key`'s slot, inserted with a zero value when absent: 0 when the map is
// full (an LRU map evicts its least recently used entry instead).
static __maybe_unused u32 __ksc_table_insert(struct __ksc_table *t, const void *key)
{
    u32 i = __ksc_table_find(t, key);
    u32 *head;
    int cpu;
    if (i) {
        __ksc_table_touch(t, i);
        return i;
    }
    if (t->count == t->cap) {
        if (!t->lru || !t->oldest)
            return 0;
        __ksc_table_remove(t, t->oldest);
    }
    if (t->free) {
        i = t->free;
        t->free = t->link[i - 1].next;
    } else {
        i = ++t->top;
    }
    memcpy(t->keys + (size_t)(i - 1) * t->key_size, key, t->key_size);
    if (t->pcpu) {
        // A new entry is zero on every CPU, as in eBPF.
        for_each_possible_cpu(cpu)
            memset((u8 *)per_cpu_ptr(t->pcpu, cpu) + (size_t)(i - 1) * t->value_size, 0,
                   t->value_size);
    } else {
        memset(t->values + (size_t)(i - 1) * t->value_size, 0, t->value_size);
    }
    head = __ksc_table_bucket(t, key);
    t->link[i - 1].next = *head;
    *head = i;
    __ksc_table_list_first(t, i);
    t->count++;
    return i;
}

// `m[k]`: the entry's value, or NULL.
static __maybe_unused void *__ksc_table_lookup(struct __ksc_table *t, const void *key)
{
    unsigned long flags;
    u32 i;
    if (!__ksc_table_lock(t, &flags))
        return NULL;
    i = __ksc_table_find(t, key);
    if (i)
        __ksc_table_touch(t, i);
    __ksc_table_unlock(t, flags);
    return i ? __ksc_table_value(t, i) : NULL;
}

// `m[k] = v`: 0, -E2BIG when a (non-LRU) map is full, -EBUSY on re-entry.
static __maybe_unused int __ksc_table_update(struct __ksc_table *t, const void *key, const void *value)
{
    unsigned long flags;
    u32 i;
    if (!__ksc_table_lock(t, &flags))
        return -EBUSY;
    i = __ksc_table_insert(t, key);
    if (i)
        memcpy(__ksc_table_value(t, i), value, t->value_size);
    __ksc_table_unlock(t, flags);
    return i ? 0 : -E2BIG;
}

// `delete m[k]`: 0, or -ENOENT when absent.
static __maybe_unused int __ksc_table_delete(struct __ksc_table *t, const void *key)
{
    unsigned long flags;
    u32 i;
    if (!__ksc_table_lock(t, &flags))
        return -EBUSY;
    i = __ksc_table_find(t, key);
    if (i)
        __ksc_table_remove(t, i);
    __ksc_table_unlock(t, flags);
    return i ? 0 : -ENOENT;
}

// An array map's entry `*key` (every index below `cap` exists), or NULL.
static __maybe_unused void *__ksc_array_at(void *base, size_t value_size, u32 cap, const u32 *key)
{
    return *key < cap ? (u8 *)base + (size_t)*key * value_size : NULL;
}
