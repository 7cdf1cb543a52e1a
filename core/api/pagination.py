from rest_framework.pagination import PageNumberPagination


class StandardPagination(PageNumberPagination):
    """Page-numbered lists for small collections; large ones (the clerk queue)
    use cursor pagination instead."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
