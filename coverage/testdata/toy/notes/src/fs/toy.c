#include <stdio.h>

static int helper(int x)
{
	if (x > 3)
		return x * 2;
	return x;
}

int work(int n)
{
	int s = 0;

	for (int i = 0; i < n; i++)
		s += helper(i);
	if (n < 0) {
		printf("never\n");
		return -1;
	}
	return s;
}

int main(int argc, char **argv)
{
	printf("%d\n", work(argc + 2));
	return 0;
}
