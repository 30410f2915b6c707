/* dothi-expression-private.h: the parsed tree, for the query planner
 * (dothi-query.c), which evaluates spatial conditions itself. */
#pragma once

#include "dothi-expression.h"
#include "dothi-query.h"

G_BEGIN_DECLS

typedef enum {
  DOTHI_EXPR_OR,
  DOTHI_EXPR_AND,
  DOTHI_EXPR_NOT,
  DOTHI_EXPR_COMPARE,
  DOTHI_EXPR_LIKE,
  DOTHI_EXPR_IN,
  DOTHI_EXPR_BETWEEN,
  DOTHI_EXPR_IS_NULL,
  DOTHI_EXPR_SPATIAL,
} DothiExprKind;

typedef struct _DothiExprNode DothiExprNode;
struct _DothiExprNode {
  DothiExprKind  kind;
  DothiExprNode *a;         /* SPATIAL: the other layer's condition, or NULL */
  DothiExprNode *b;
  char          *column;    /* from the layer info; SPATIAL: the other table */
  const char    *op;        /* COMPARE: a static SQL operator */
  gboolean       negated;
  gboolean       folded;
  GPtrArray     *values;    /* GVariant* */
  DothiSpatialPredicate predicate;  /* SPATIAL */
  double         distance;  /* SPATIAL, metres */
  int            pos;       /* 1-based character position */
};

/* Finds a layer by table name or title for a spatial condition; NULL when
 * there is none. */
typedef const DothiLayerInfo *(*DothiLayerResolver) (const char *name,
                                                     gpointer    data);

/* dothi_expression_parse() that also accepts the spatial conditions of
 * dothi-query.h, resolving their layers through @resolver. Empty text is
 * an error here too. */
DothiExpression     *dothi_expression_parse_spatial (const char            *text,
                                                     const DothiLayerInfo  *info,
                                                     DothiLayerResolver     resolver,
                                                     gpointer               resolver_data,
                                                     GError               **error);
const DothiExprNode *dothi_expression_get_root      (DothiExpression *expr);
/* dothi_expression_to_sql() of a subtree without spatial conditions. */
char                *dothi_expression_node_to_sql   (const DothiExprNode  *node,
                                                     const char           *alias,
                                                     GPtrArray           **params);
gboolean             dothi_expression_node_is_spatial (const DothiExprNode *node);

G_END_DECLS
