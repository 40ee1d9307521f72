export declare const ROOT: string;
export declare const LAB_CACHE: string;
export declare function labMissing(): string | null;
export declare function e2eSkipped(): boolean;
