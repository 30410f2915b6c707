/* dothi-attribute-table.h: the attribute table of one layer: a column per
 * field over the lazy DothiFeatureList (a million rows scroll without being
 * read), sort by a header click, a filter, and in-place editing of a cell
 * as one undoable action. */
#pragma once

#include <adwaita.h>
#include "dothi-fid-set.h"
#include "dothi-project.h"

G_BEGIN_DECLS

#define DOTHI_TYPE_ATTRIBUTE_TABLE (dothi_attribute_table_get_type ())
G_DECLARE_FINAL_TYPE (DothiAttributeTable, dothi_attribute_table, DOTHI, ATTRIBUTE_TABLE, AdwBin)

/* Signals:
 *  "selection-changed" (GArray *fids): gint64 fids of the selected rows,
 *     in display order; transfer none, valid during the emission;
 *  "feature-activated" (gint64 fid): a double click on a row's fid cell,
 *     or Enter on a row;
 *  "error" (GError *error): something to show in a toast (a value the
 *     field cannot hold, a refused edit, a failed read), already naming
 *     the layer, field and feature;
 *  "edited" (gint64 action_id): an in-place edit was committed as that
 *     action (for the undo toast and the map's refresh);
 *  "result-cleared" (): the user pressed "Show All Rows" (the window may
 *     clear the map's result too). */
GtkWidget *dothi_attribute_table_new        (void);

/* Shows @layer of @project (NULL @layer clears the table). The rows' fids
 * are read on a worker; the table shows a spinner meanwhile. The table
 * keeps a reference to @project for edits. */
void       dothi_attribute_table_set_layer  (DothiAttributeTable *self,
                                             DothiProject        *project,
                                             const char          *layer);
const char *dothi_attribute_table_get_layer (DothiAttributeTable *self);

/* Selects the row of @fid and scrolls it into view (GTK 4.8 has no
 * gtk_column_view_scroll_to: the vertical adjustment is moved by the
 * height of a realized row). Does nothing when @fid is filtered out. */
void       dothi_attribute_table_select_fid (DothiAttributeTable *self,
                                             gint64               fid);

/* Re-reads the rows of @fids, after an edit made elsewhere (the map, undo). */
void       dothi_attribute_table_refresh    (DothiAttributeTable *self,
                                             const gint64        *fids,
                                             guint                n_fids);

/* Shows only the rows of @fids (referenced: a query's result), with
 * the sort and the text filter still applying, and a bar above the table
 * saying "Query result “@label”: N rows" (@label may be NULL) with a
 * "Show All Rows" button that clears it ("result-cleared" follows). NULL
 * @fids shows every row again. The result belongs to the layer shown
 * (or, when none is, to the next one): set_layer keeps it for the same
 * layer of the same file (a reload) and drops it for another. */
void       dothi_attribute_table_show_fids  (DothiAttributeTable *self,
                                             DothiFidSet         *fids,
                                             const char          *label);
/* The result shown, or NULL; borrowed. */
DothiFidSet *dothi_attribute_table_get_fids (DothiAttributeTable *self);

/* The lazy model shown, or NULL while none is; borrowed. For tests. */
GListModel *dothi_attribute_table_get_model (DothiAttributeTable *self);

G_END_DECLS
