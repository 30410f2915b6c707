/* dothi-fid-set.h: an immutable, shareable set of feature ids (a query's
 * result, the map's selection): sorted, with O(1) membership for the
 * renderer's inner loop. Safe to read from any thread once built. */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

typedef struct _DothiFidSet DothiFidSet;

#define DOTHI_TYPE_FID_SET (dothi_fid_set_get_type ())
GType         dothi_fid_set_get_type (void) G_GNUC_CONST;

/* Takes @fids (an array of gint64, in any order, duplicates allowed):
 * sorts and deduplicates it. NULL @fids for the empty set. */
DothiFidSet  *dothi_fid_set_new_take (GArray *fids);
/* From @n sorted, unique fids, copied. */
DothiFidSet  *dothi_fid_set_new_sorted (const gint64 *fids, guint n);
DothiFidSet  *dothi_fid_set_ref   (DothiFidSet *set);
void          dothi_fid_set_unref (DothiFidSet *set);

guint         dothi_fid_set_get_size (const DothiFidSet *set);
/* The fids in increasing order. */
const gint64 *dothi_fid_set_get_fids (const DothiFidSet *set, guint *n);
gboolean      dothi_fid_set_contains (const DothiFidSet *set, gint64 fid);
/* Smallest and largest fid; FALSE for the empty set. */
gboolean      dothi_fid_set_get_range (const DothiFidSet *set,
                                       gint64            *min,
                                       gint64            *max);

/* New sets; NULL arguments are not allowed. */
DothiFidSet  *dothi_fid_set_intersect  (const DothiFidSet *a, const DothiFidSet *b);
DothiFidSet  *dothi_fid_set_union      (const DothiFidSet *a, const DothiFidSet *b);
/* a \ b */
DothiFidSet  *dothi_fid_set_difference (const DothiFidSet *a, const DothiFidSet *b);
gboolean      dothi_fid_set_equal      (const DothiFidSet *a, const DothiFidSet *b);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DothiFidSet, dothi_fid_set_unref)

G_END_DECLS
