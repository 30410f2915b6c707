/* dothi-fid-set.c: sorted fid arrays with a membership bitmap when the
 * fids are dense enough for one (a million parcels: 125 KB). */
#include "config.h"

#include <string.h>
#include "dothi-fid-set.h"

struct _DothiFidSet {
  gatomicrefcount  ref;
  gint64          *fids;
  guint            n;
  guint8          *bits;   /* bit (fid - fids[0]), or NULL: binary search */
};

G_DEFINE_BOXED_TYPE (DothiFidSet, dothi_fid_set, dothi_fid_set_ref, dothi_fid_set_unref)

static int
compare_fid (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return (x > y) - (x < y);
}

/* Owns @fids (g_malloc'ed, sorted, unique). */
static DothiFidSet *
set_new (gint64 *fids, guint n)
{
  DothiFidSet *set = g_new0 (DothiFidSet, 1);

  g_atomic_ref_count_init (&set->ref);
  set->fids = fids;
  set->n = n;
  if (n > 64)
    {
      guint64 span = (guint64) (fids[n - 1] - fids[0]) + 1;

      /* At most 64 bits a member and 64 MB: denser than the array. */
      if (span / 64 <= n && span <= G_GUINT64_CONSTANT (1) << 29)
        {
          set->bits = g_malloc0 ((gsize) (span + 7) / 8);
          for (guint i = 0; i < n; i++)
            {
              guint64 k = (guint64) (fids[i] - fids[0]);
              set->bits[k >> 3] |= (guint8) (1u << (k & 7));
            }
        }
    }
  return set;
}

DothiFidSet *
dothi_fid_set_new_take (GArray *fids)
{
  guint n = 0;
  gint64 *data;

  if (fids == NULL || fids->len == 0)
    {
      if (fids != NULL)
        g_array_unref (fids);
      return set_new (NULL, 0);
    }
  g_return_val_if_fail (g_array_get_element_size (fids) == sizeof (gint64), NULL);
  data = (gint64 *) fids->data;
  qsort (data, fids->len, sizeof (gint64), compare_fid);
  for (guint i = 0; i < fids->len; i++)
    if (n == 0 || data[n - 1] != data[i])
      data[n++] = data[i];
  return set_new ((gint64 *) g_array_steal (fids, NULL), n);
}

DothiFidSet *
dothi_fid_set_new_sorted (const gint64 *fids, guint n)
{
  return set_new (n > 0 ? g_memdup2 (fids, n * sizeof (gint64)) : NULL, n);
}

DothiFidSet *
dothi_fid_set_ref (DothiFidSet *set)
{
  g_return_val_if_fail (set != NULL, NULL);
  g_atomic_ref_count_inc (&set->ref);
  return set;
}

void
dothi_fid_set_unref (DothiFidSet *set)
{
  if (set == NULL || !g_atomic_ref_count_dec (&set->ref))
    return;
  g_free (set->fids);
  g_free (set->bits);
  g_free (set);
}

guint
dothi_fid_set_get_size (const DothiFidSet *set)
{
  return set->n;
}

const gint64 *
dothi_fid_set_get_fids (const DothiFidSet *set, guint *n)
{
  if (n != NULL)
    *n = set->n;
  return set->fids;
}

gboolean
dothi_fid_set_contains (const DothiFidSet *set, gint64 fid)
{
  guint lo = 0, hi;

  if (set->n == 0 || fid < set->fids[0] || fid > set->fids[set->n - 1])
    return FALSE;
  if (set->bits != NULL)
    {
      guint64 k = (guint64) (fid - set->fids[0]);
      return (set->bits[k >> 3] >> (k & 7)) & 1;
    }
  hi = set->n;
  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;

      if (set->fids[mid] < fid)
        lo = mid + 1;
      else
        hi = mid;
    }
  return lo < set->n && set->fids[lo] == fid;
}

gboolean
dothi_fid_set_get_range (const DothiFidSet *set, gint64 *min, gint64 *max)
{
  if (set->n == 0)
    return FALSE;
  if (min != NULL)
    *min = set->fids[0];
  if (max != NULL)
    *max = set->fids[set->n - 1];
  return TRUE;
}

typedef enum { OP_AND, OP_OR, OP_MINUS } SetOp;

static DothiFidSet *
merge (const DothiFidSet *a, const DothiFidSet *b, SetOp op)
{
  gint64 *out = g_new (gint64, MAX (a->n + b->n, 1));
  guint i = 0, j = 0, n = 0;

  while (i < a->n && j < b->n)
    {
      if (a->fids[i] < b->fids[j])
        {
          if (op != OP_AND)
            out[n++] = a->fids[i];
          i++;
        }
      else if (a->fids[i] > b->fids[j])
        {
          if (op == OP_OR)
            out[n++] = b->fids[j];
          j++;
        }
      else
        {
          if (op != OP_MINUS)
            out[n++] = a->fids[i];
          i++;
          j++;
        }
    }
  if (op != OP_AND)
    for (; i < a->n; i++)
      out[n++] = a->fids[i];
  if (op == OP_OR)
    for (; j < b->n; j++)
      out[n++] = b->fids[j];
  if (n == 0)
    {
      g_free (out);
      out = NULL;
    }
  return set_new (out, n);
}

DothiFidSet *
dothi_fid_set_intersect (const DothiFidSet *a, const DothiFidSet *b)
{
  return merge (a, b, OP_AND);
}

DothiFidSet *
dothi_fid_set_union (const DothiFidSet *a, const DothiFidSet *b)
{
  return merge (a, b, OP_OR);
}

DothiFidSet *
dothi_fid_set_difference (const DothiFidSet *a, const DothiFidSet *b)
{
  return merge (a, b, OP_MINUS);
}

gboolean
dothi_fid_set_equal (const DothiFidSet *a, const DothiFidSet *b)
{
  return a->n == b->n
         && (a->n == 0 || memcmp (a->fids, b->fids, a->n * sizeof (gint64)) == 0);
}
