/* dothi-query-result.h: what a planner does with a query's answer: a
 * summary (count, total area or length, grouped by a field), a new layer
 * in the project, an export, and the queries saved in the project to run
 * again (DESIGN.md §6 Query). */
#pragma once

#include <gio/gio.h>
#include "dothi-fid-set.h"
#include "dothi-project.h"
#include "dothi-types.h"

G_BEGIN_DECLS

typedef struct {
  char   *key;      /* the group's value as display text; NULL for NULL,
                     * and for the total row */
  gint64  count;
  double  area;     /* m² in the project CRS (polygons), else 0 */
  double  length;   /* m (lines; polygons: perimeter), else 0 */
} DothiSummaryRow;

typedef struct {
  DothiSummaryRow  total;
  GPtrArray       *groups;  /* DothiSummaryRow*, largest count first;
                             * empty without a group field */
} DothiSummary;

/* Sums the features @fids of @layer of the project at @path, grouped by
 * @group_field (NULL: total only), on a read-only connection of its own
 * (any thread). An unknown field is DOTHI_ERROR_NOT_FOUND naming it. */
DothiSummary *dothi_query_summarize (const char    *path,
                                     const char    *layer,
                                     DothiFidSet   *fids,
                                     const char    *group_field,
                                     GCancellable  *cancellable,
                                     GError       **error);
void          dothi_summary_free    (DothiSummary  *summary);

/* Writes the features @fids of @layer (all fields, geometry in the
 * project CRS) to a new file @out_path in @format ("gpkg", "geojson",
 * "csv"; NULL: from the extension; dothi_export_driver_for). An existing
 * file is DOTHI_ERROR_EXISTS; on error or cancel nothing is left behind.
 * The project is only read (any thread). */
gboolean      dothi_query_export    (const char         *path,
                                     const char         *layer,
                                     DothiFidSet        *fids,
                                     const char         *out_path,
                                     const char         *format,
                                     GCancellable       *cancellable,
                                     DothiProgressFunc   progress,
                                     gpointer            progress_data,
                                     GError            **error);

/* Copies the features @fids of @layer into a new layer @name (a slug is
 * made of it; an existing name is DOTHI_ERROR_EXISTS) titled @title, with
 * the same fields, geometry type, CRS, spatial index and audit trail as
 * an imported layer, in one transaction recorded in the audit trail as
 * one action that undo removes (like an import). Returns the action id,
 * or 0 with @error; *@table (may be NULL) gets the new table name. */
gint64        dothi_query_save_layer (DothiProject  *project,
                                      const char    *layer,
                                      DothiFidSet   *fids,
                                      const char    *name,
                                      const char    *title,
                                      char         **table,
                                      GError       **error);

/* Saved queries: table dothi_queries in the project (name, layer, text,
 * note, created, modified). */
typedef struct {
  char *name;
  char *layer;
  char *text;    /* dothi-query.h text */
  char *note;    /* NULL or free text */
  char *modified;  /* ISO 8601 UTC */
} DothiSavedQuery;

void          dothi_saved_query_free (DothiSavedQuery *saved);
/* Adds or replaces @name (one transaction). The text is stored as given;
 * callers parse it with dothi_query_new() first. */
gboolean      dothi_saved_query_store  (DothiProject  *project,
                                        const char    *name,
                                        const char    *layer,
                                        const char    *text,
                                        const char    *note,
                                        GError       **error);
/* DothiSavedQuery*, by name in Vietnamese order; empty when none. */
GPtrArray    *dothi_saved_query_list   (DothiProject  *project,
                                        GError       **error);
/* NULL with DOTHI_ERROR_NOT_FOUND naming @name when there is none. */
DothiSavedQuery *dothi_saved_query_get (DothiProject  *project,
                                        const char    *name,
                                        GError       **error);
gboolean      dothi_saved_query_delete (DothiProject  *project,
                                        const char    *name,
                                        GError       **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DothiSummary, dothi_summary_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DothiSavedQuery, dothi_saved_query_free)

G_END_DECLS
