/* dothi-expression.h: attribute conditions a user types ("loai_dat = 'ODT'
 * AND dien_tich BETWEEN 100 AND 500"), checked against a layer's fields and
 * turned into SQL whose values are all bound parameters. */
#pragma once

#include <gio/gio.h>
#include <sqlite3.h>
#include "dothi-layer-info.h"

G_BEGIN_DECLS

typedef struct _DothiExpression DothiExpression;

/* Parses @text: comparisons (=, <>, !=, <, <=, >, >=, and ~= for a
 * folded text equality), [NOT] LIKE / ILIKE 'pattern' (% and _; ILIKE
 * folds), [NOT] IN (v, …), [NOT] BETWEEN a AND b, IS [NOT] NULL, combined
 * with NOT, AND, OR (in that order of binding) and parentheses. Values are
 * numbers, 'quoted text' ('' for a quote), 'YYYY-MM-DD' for date fields and
 * TRUE/FALSE for boolean fields. Field names, bare or "double-quoted", are
 * matched case-insensitively against @info's fields and "fid".
 * An unknown field is DOTHI_ERROR_NOT_FOUND; a type mismatch or a syntax
 * error is DOTHI_ERROR_INVALID_DATA; messages give the 1-based character
 * position. @info is only read during the call. */
DothiExpression *dothi_expression_parse (const char            *text,
                                         const DothiLayerInfo  *info,
                                         GError               **error);

/* The condition as SQL, for a WHERE clause: columns quoted (their names
 * taken from the layer info), prefixed with the quoted @alias unless it is
 * NULL, and every value a ?N parameter. The values (GVariant*: int64,
 * double, string or boolean) are appended to *@params, which is created
 * when NULL; N counts on from the values already in it, so a caller that
 * binds the whole array with dothi_expression_bind (stmt, 1, …) may put
 * its own values first. Folded comparisons read dothi_fold("col") = ?N
 * with the value folded here; they need dothi_expression_register_functions()
 * on the connection. Free the result with g_free(). */
char            *dothi_expression_to_sql (DothiExpression  *expr,
                                          const char       *alias,
                                          GPtrArray       **params);

/* Binds @params[i] to parameter @first_index + i of @stmt. */
gboolean         dothi_expression_bind   (sqlite3_stmt  *stmt,
                                          int            first_index,
                                          GPtrArray     *params,
                                          GError       **error);

/* Registers dothi_fold(text) (dothi-search.h's dothi_text_fold) on @db
 * only. It is SQLITE_DIRECTONLY: a view, trigger or index that names it
 * fails, so nothing stored in the file (which QGIS reads) can depend on it. */
void             dothi_expression_register_functions (sqlite3 *db);

/* The fids of @layer's features that meet @expr, in fid order, at most
 * @limit (0: all), and their number: on a read-only connection of its own
 * to the project at @path, so it runs on any thread. */
GArray          *dothi_expression_select_fids (const char       *path,
                                               const char       *layer,
                                               DothiExpression  *expr,
                                               guint             limit,
                                               gint64           *count,
                                               GCancellable     *cancellable,
                                               GError          **error);
void             dothi_expression_free   (DothiExpression *expr);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DothiExpression, dothi_expression_free)

G_END_DECLS
