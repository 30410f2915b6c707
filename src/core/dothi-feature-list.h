/* dothi-feature-list.h: the rows of one layer as a lazy GListModel for the
 * attribute table: a million rows without loading them. The model holds
 * only the fids in display order (8 bytes a row) and reads rows in pages
 * of 256 from a read-only connection of its own as items are asked for.
 * Sorting (Vietnamese collation: Đ after D, tone marks after the base
 * letter) and filtering run in SQL on a worker thread; the model changes
 * at once when they finish. Main-thread object. */
#pragma once

#include <gio/gio.h>
#include "dothi-fid-set.h"
#include "dothi-layer-info.h"

G_BEGIN_DECLS

/* One row: its fid and its values as display text (NULL for NULL), in
 * the order of the layer's fields. */
#define DOTHI_TYPE_FEATURE_ROW (dothi_feature_row_get_type ())
G_DECLARE_FINAL_TYPE (DothiFeatureRow, dothi_feature_row, DOTHI, FEATURE_ROW, GObject)

gint64       dothi_feature_row_get_fid   (DothiFeatureRow *self);
/* NULL for a NULL value, "" while the row's page is still being read. */
const char  *dothi_feature_row_get_value (DothiFeatureRow *self, guint field);
gboolean     dothi_feature_row_get_loaded (DothiFeatureRow *self);
/* Signal "loaded" (): the values arrived. */

#define DOTHI_TYPE_FEATURE_LIST (dothi_feature_list_get_type ())
G_DECLARE_FINAL_TYPE (DothiFeatureList, dothi_feature_list, DOTHI, FEATURE_LIST, GObject)

/* Opens @layer of the project at @path. The fid list is read at once (a
 * covering scan of the primary key: about 60 ms for 1M rows). */
DothiFeatureList *dothi_feature_list_new (const char  *path,
                                          const char  *layer,
                                          GError     **error);
const DothiLayerInfo *dothi_feature_list_get_info (DothiFeatureList *self);

/* The fid at @position, without making an item (for a selection of a
 * million rows), or -1 past the end. */
gint64   dothi_feature_list_get_fid  (DothiFeatureList *self, guint position);
/* Position of @fid in the current order, or -1. */
gint64   dothi_feature_list_find_fid (DothiFeatureList *self, gint64 fid);

/* Sorts by @field (NULL: fid order) in the background; when done the
 * model emits items-changed twice, (0, old n, 0) then (0, 0, new n): GTK
 * 4.8 would make an item of every row to follow a tracked row through a
 * single (0, old n, new n). "busy" is TRUE meanwhile.
 * Numbers sort by value, NULL first; text in Vietnamese dictionary order,
 * syllable by syllable: base letters (a ă â b c d đ e ê … o ô ơ … u ư …,
 * digit runs by value), then the syllable's tone (none, huyền, hỏi, ngã,
 * sắc, nặng: “Anh” < “Ảnh” < “Ánh”; “Uỷ” and “Ủy” tie), then case (lower
 * first); equal values in fid order. */
void     dothi_feature_list_set_sort   (DothiFeatureList *self,
                                        const char       *field,
                                        gboolean          descending);
/* Keeps only rows whose @field contains @text, folded (case, tone marks,
 * đ/d; dothi_text_fold); NULL @text shows every row. */
void     dothi_feature_list_set_filter (DothiFeatureList *self,
                                        const char       *field,
                                        const char       *text);
/* Keeps only rows whose fid is in @fids (referenced; a query's result),
 * together with the sort and the text filter, on a worker like them (the
 * same two items-changed signals, "busy" meanwhile); fids the layer does
 * not have are left out. NULL shows every row again. */
void     dothi_feature_list_set_fids   (DothiFeatureList *self,
                                        DothiFidSet      *fids);
/* The set given to set_fids, or NULL; borrowed. */
DothiFidSet *dothi_feature_list_get_fids (DothiFeatureList *self);
gboolean dothi_feature_list_get_busy   (DothiFeatureList *self);
/* Signal "error" (GError *): a page read, sort or filter failed in the
 * background (the order stays as it was). Property "busy". */

/* Reads the rows of @fids again (after an edit): their items emit
 * "loaded" with the new values; rows gone are removed from the model. */
void     dothi_feature_list_refresh    (DothiFeatureList *self,
                                        const gint64     *fids,
                                        guint             n_fids);

/* The page reads happen on a worker; for tests and the benchmark: blocks
 * until rows [@position, @position + @n) are loaded. */
gboolean dothi_feature_list_load_sync  (DothiFeatureList *self,
                                        guint             position,
                                        guint             n,
                                        GError          **error);

G_END_DECLS
