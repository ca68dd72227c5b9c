from functools import partial

from django.core.paginator import Paginator as DjangoPaginator
from django.utils.translation import gettext_lazy as _
from rest_framework.pagination import PageNumberPagination


class Pagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
    page_query_param = "page"
    invalid_page_message = _("That page does not exist.")

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        # A list that counts only so far (a prompt search counts up to 1,000 matches) says so: `count` is then
        # a floor ("1,000+") and the pages end there.
        if getattr(self.page.paginator.object_list, "count_capped", False):
            response.data["count_capped"] = True
        return response


class CountedPaginator(DjangoPaginator):
    """A paginator told how to count more cheaply than COUNT(*) over the filtered query."""

    def __init__(self, *args, count, **kwargs):
        super().__init__(*args, **kwargs)
        self._count = count

    @property
    def count(self) -> int:
        if not hasattr(self, "_counted"):
            self._counted = self._count()
        return self._counted


def paginate(*, queryset, serializer_class=None, request, view, context=None, count=None, render=None):
    """One page of `queryset`; `count`, if given, is a callable that returns the total. `render`, if given,
    turns the page's rows into the list of bodies instead of `serializer_class` (lists whose bodies are
    rendered by hand from plain rows: DRF's walk over the declared fields is most of a page's cost)."""
    paginator = Pagination()
    if count is not None:
        paginator.django_paginator_class = partial(CountedPaginator, count=count)
    page = paginator.paginate_queryset(queryset, request, view=view)
    if render is not None:
        data = render(page)
    else:
        data = serializer_class(page, many=True, context=context or {"request": request}).data
    return paginator.get_paginated_response(data)
