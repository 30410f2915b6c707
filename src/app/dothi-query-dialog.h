/* dothi-query-dialog.h: the query builder: pick a layer, conditions and
 * fields from lists, watch the count as the query grows, run it in the
 * background and turn the answer into a selection, a summary, a layer or
 * a file (dothi-query.h). */
#pragma once

#include <adwaita.h>
#include "dothi-fid-set.h"
#include "dothi-project.h"
#include "dothi-query.h"

G_BEGIN_DECLS

#define DOTHI_TYPE_QUERY_DIALOG (dothi_query_dialog_get_type ())
G_DECLARE_FINAL_TYPE (DothiQueryDialog, dothi_query_dialog, DOTHI, QUERY_DIALOG, AdwWindow)

/* Signals:
 *  "result" (const char *layer, DothiFidSet *fids, const char *label):
 *     a run finished; the window shows it on the map;
 *  "show-table" (const char *layer, DothiFidSet *fids, const char *label):
 *     the user asked for the result in the attribute table. */

/* A builder on @project (referenced), transient for @parent, starting on
 * @layer (NULL: the first layer with geometry). */
DothiQueryDialog *dothi_query_dialog_new (GtkWindow    *parent,
                                          DothiProject *project,
                                          const char   *layer);

/* What the buttons do, for tests and the window. */
gboolean    dothi_query_dialog_set_layer  (DothiQueryDialog *self,
                                           const char       *layer);
void        dothi_query_dialog_set_match_any (DothiQueryDialog *self,
                                              gboolean          any);
/* Adds a row "FIELD OP VALUE"; @op is one of = <> < <= > >= contains
 * starts-with ~= in null not-null. FALSE if the field is unknown. */
gboolean    dothi_query_dialog_add_attribute (DothiQueryDialog *self,
                                              const char       *field,
                                              const char       *op,
                                              const char       *value);
/* Adds a row "PREDICATE OTHER [METRES] [where OTHER_WHERE]". */
gboolean    dothi_query_dialog_add_spatial (DothiQueryDialog      *self,
                                            DothiSpatialPredicate  predicate,
                                            const char            *other,
                                            double                 metres,
                                            const char            *other_where);
/* Switches to the typed expression and sets it. */
void        dothi_query_dialog_set_expression (DothiQueryDialog *self,
                                               const char       *text);
const char *dothi_query_dialog_get_expression (DothiQueryDialog *self);
void        dothi_query_dialog_run      (DothiQueryDialog *self);
void        dothi_query_dialog_cancel   (DothiQueryDialog *self);
/* TRUE while a run or the live count is working. */
gboolean    dothi_query_dialog_get_busy (DothiQueryDialog *self);
/* The live count, or -1 when none is known (an error, or counting). */
gint64      dothi_query_dialog_get_count (DothiQueryDialog *self);
/* The last run's answer (borrowed), or NULL. */
DothiFidSet *dothi_query_dialog_get_result (DothiQueryDialog *self);
/* The text under the conditions: the count, or an error with its
 * position in the expression. */
const char *dothi_query_dialog_get_message (DothiQueryDialog *self);
/* The summary shown under the result, grouped by @field (NULL: none). */
void        dothi_query_dialog_set_group_by (DothiQueryDialog *self,
                                             const char       *field);
const char *dothi_query_dialog_get_summary_text (DothiQueryDialog *self);

G_END_DECLS
