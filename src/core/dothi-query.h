/* dothi-query.h: the questions planners ask of the map ("parcels within
 * 50 m of a main of 300 mm or more"): attribute conditions and spatial
 * conditions against other layers, combined with AND, OR, NOT and
 * parentheses, answered by a planner that drives each spatial condition
 * from its smaller side (DESIGN.md §6 Query). */
#pragma once

#include <gio/gio.h>
#include "dothi-fid-set.h"
#include "dothi-types.h"

G_BEGIN_DECLS

typedef enum {
  DOTHI_SPATIAL_WITHIN_DISTANCE,  /* distance(target, other) <= d */
  DOTHI_SPATIAL_INTERSECTS,
  DOTHI_SPATIAL_CONTAINS,         /* target contains other */
  DOTHI_SPATIAL_WITHIN,           /* target within other */
  DOTHI_SPATIAL_TOUCHES,
  DOTHI_SPATIAL_DISJOINT,         /* intersects no feature of other */
} DothiSpatialPredicate;

#define DOTHI_N_SPATIAL_PREDICATES 6

/* The function name in query text ("within_distance") and its
 * translated label ("within distance of"). */
const char *dothi_spatial_predicate_to_string (DothiSpatialPredicate predicate);
const char *dothi_spatial_predicate_to_label  (DothiSpatialPredicate predicate);
gboolean    dothi_spatial_predicate_from_string (const char            *name,
                                                 DothiSpatialPredicate *predicate);

typedef struct _DothiQuery DothiQuery;

/* Parses @text as a condition on @layer of the project at @path: the
 * attribute language of dothi-expression.h plus spatial conditions
 *   within_distance(OTHER, METRES [, CONDITION])
 *   intersects(OTHER [, CONDITION])   contains(…)  within(…)  touches(…)
 *   disjoint(OTHER [, CONDITION])
 * where OTHER names a layer (table name or title, bare or "quoted") and
 * CONDITION is an attribute condition on OTHER's fields that picks which
 * of its features count. A spatial condition holds for a target feature
 * when the predicate holds with at least one such feature (disjoint: with
 * none). Empty or NULL @text selects every feature.
 * Errors (translated, with the 1-based character position): an unknown
 * layer or field is DOTHI_ERROR_NOT_FOUND; a syntax error, a type
 * mismatch, a negative or non-numeric distance, a layer without geometry
 * or in another CRS is DOTHI_ERROR_INVALID_DATA. The project is only read. */
DothiQuery   *dothi_query_new        (const char  *path,
                                      const char  *layer,
                                      const char  *text,
                                      GError     **error);
void          dothi_query_free       (DothiQuery  *query);
const char   *dothi_query_get_layer  (DothiQuery  *query);
const char   *dothi_query_get_text   (DothiQuery  *query);
/* TRUE when the query has at least one spatial condition. */
gboolean      dothi_query_is_spatial (DothiQuery  *query);

/* Runs the query on a read-only connection of its own (any thread; one
 * run at a time per DothiQuery): the fids of the target's features that
 * meet it. @progress (may be NULL) is called on the running thread with
 * the fraction done. Cancelling @cancellable interrupts SQLite and the
 * geometry tests within a few milliseconds: G_IO_ERROR_CANCELLED. */
DothiFidSet  *dothi_query_run        (DothiQuery         *query,
                                      DothiProgressFunc   progress,
                                      gpointer            progress_data,
                                      GCancellable       *cancellable,
                                      GError            **error);
/* The plan the last run chose, one step a line (translated), with the
 * estimates, the candidates tested and the time of each step; NULL before
 * a run. */
const char   *dothi_query_get_plan   (DothiQuery  *query);

/* The same on a worker thread; @progress is called on the caller's
 * thread. */
void          dothi_query_run_async  (DothiQuery          *query,
                                      DothiProgressFunc    progress,
                                      gpointer             progress_data,
                                      GCancellable        *cancellable,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data);
DothiFidSet  *dothi_query_run_finish (DothiQuery    *query,
                                      GAsyncResult  *result,
                                      GError       **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DothiQuery, dothi_query_free)

G_END_DECLS
